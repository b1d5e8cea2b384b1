/**
 * A Comfy Registry on 127.0.0.1 speaking the API shapes of reference/comfy-registry.md (openapi.yml's Node and
 * NodeVersion, the 404 ErrorResponse), serving zip archives the tests build with Python's zipfile, as comfy-cli
 * packs them (names relative to the pack's root, no wrapping folder).
 *
 *   const reg = await startRegistry()
 *   reg.publish('comfyui-kjnodes', '1.0.0', { '__init__.py': '...' }, { repository: 'https://github.com/kijai/ComfyUI-KJNodes' })
 *   reg.url                                  // COMFY_REGISTRY_URL
 *   reg.archiveHits('comfyui-kjnodes', '1.0.0')
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { startServer, type TestServer } from './http-server.ts'

/** An archive entry: a file's text, or a raw entry for hostile archives (a symbolic link, a name with ".."). */
export type ArchiveEntry = string | { symlink: string }

/** Writes a zip with Python's zipfile (what comfy-cli's `node pack` uses); names are written exactly as given. */
export function makeArchive(path: string, entries: Record<string, ArchiveEntry>): Buffer {
  const script = `
import json, sys, zipfile
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec["path"], "w", zipfile.ZIP_DEFLATED) as z:
    for name, entry in spec["entries"].items():
        if isinstance(entry, dict):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, entry["symlink"])
        else:
            z.writestr(name, entry)
`
  execFileSync('python3', ['-c', script], { input: JSON.stringify({ path, entries }) })
  return readFileSync(path)
}

export interface Registry {
  url: string
  server: TestServer
  /** Publishes (or replaces) a version; the newest published version is the node's latest. */
  publish(id: string, version: string, files: Record<string, ArchiveEntry>, o?: { repository?: string }): Buffer
  /** A node that has no published version (only "nightly"): `latest_version` is null. */
  addUnpublished(id: string, repository: string): void
  archiveHits(id: string, version: string): number
  /** Requests to the API itself (not the archives). */
  apiHits(): number
  close(): Promise<void>
}

interface NodeRecord { id: string; repository: string; versions: Map<string, { createdAt: string }> }

export async function startRegistry(dir: string): Promise<Registry> {
  const server = await startServer()
  const nodes = new Map<string, NodeRecord>()
  mkdirSync(dir, { recursive: true })
  const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const versionBody = (n: NodeRecord, version: string) => ({
    id: `${n.id}-${version}`, node_id: n.id, version, changelog: '', dependencies: [], deprecated: false,
    status: 'NodeVersionStatusActive', createdAt: n.versions.get(version)!.createdAt,
    downloadUrl: `${server.url}/cdn/publisher/${n.id}/${version}/node.zip`,
  })
  const newest = (n: NodeRecord) => [...n.versions.keys()].sort((a, b) => {
    const pa = a.split('.').map(Number), pb = b.split('.').map(Number)
    return pa[0]! - pb[0]! || pa[1]! - pb[1]! || pa[2]! - pb[2]!
  }).pop()
  const notFound = (res: ServerResponse) => send(res, 404, { error: 'Not Found', message: 'Node not found' })

  const api = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', server.url)
    const [, , id, what, version] = url.pathname.split('/')
    const n = nodes.get(decodeURIComponent(id ?? ''))
    if (!n) return notFound(res)
    if (what === undefined) {
      const latest = newest(n)
      return send(res, 200, { id: n.id, name: n.id, repository: n.repository, publisher: { id: 'publisher', name: 'publisher' }, status: 'NodeStatusActive', latest_version: latest ? versionBody(n, latest) : null })
    }
    if (what === 'install') {
      const v = url.searchParams.get('version') ?? newest(n)
      if (v && !/^\d+\.\d+\.\d+$/.test(v)) return send(res, 400, { error: 'Bad Request', message: 'invalid version' })
      if (!v || !n.versions.has(v)) return notFound(res)
      return send(res, 200, versionBody(n, v))
    }
    if (what === 'versions' && version === undefined) return send(res, 200, [...n.versions.keys()].map(v => ({ ...versionBody(n, v), downloadUrl: '' })))
    if (what === 'versions' && version) return n.versions.has(version) ? send(res, 200, versionBody(n, version)) : notFound(res)
    return notFound(res)
  }

  const route = (id: string) => {
    for (const suffix of ['', '/install', '/versions']) server.routes[`/nodes/${id}${suffix}`] = { handler: api }
  }
  return {
    url: server.url,
    server,
    publish(id, version, files, o = {}) {
      const n = nodes.get(id) ?? { id, repository: o.repository ?? `https://github.com/example/${id}`, versions: new Map() }
      nodes.set(id, n)
      n.versions.set(version, { createdAt: new Date().toISOString() })
      const body = makeArchive(join(dir, `${id}-${version}.zip`), files)
      server.routes[`/cdn/publisher/${id}/${version}/node.zip`] = { body }
      route(id)
      return body
    },
    addUnpublished(id, repository) {
      nodes.set(id, { id, repository, versions: new Map() })
      route(id)
    },
    archiveHits: (id, version) => server.hits(`/cdn/publisher/${id}/${version}/node.zip`),
    apiHits: () => server.requests.filter(r => r.path.startsWith('/nodes/')).length,
    close: () => server.close(),
  }
}
