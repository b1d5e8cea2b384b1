import type { ResolvedConfig } from '../config/resolve.ts'
import type { Diagnostic } from '../spec/diagnostic.ts'
import type { RegistryNode, Spec } from '../spec/schema.ts'
import { isRegistryNode, nodeName } from '../spec/names.ts'
import { archiveInStore, archiveKey } from '../models/registry-archive.ts'
import { Limit } from '../util/limit.ts'

/** What the registry said of one node of the spec. */
export interface RegistryAnswer {
  index: number
  version: string
  /** The node had no version: the latest was taken. */
  latest: boolean
  /** The version's download URL, asked for only when the store lacks the archive. */
  archiveUrl?: string
}

export interface RegistryResolution {
  answers: RegistryAnswer[]
  /** Unknown ids and versions: spec errors (exit 2). */
  diagnostics: Diagnostic[]
  /** A registry that did not answer, offline without a version: exit 1. */
  failures: string[]
}

/**
 * Asks the Comfy Registry what the spec's registry nodes need and the store cannot say: the latest version of a node
 * without one, and the archive URL of a version whose archive is not in the store (which also proves the version
 * exists). A node whose pinned archive is in the store costs no request, so a realize from the store works offline.
 */
export async function resolveRegistryNodes(o: {
  spec: Spec; file: string; config: Pick<ResolvedConfig, 'registryUrl' | 'modelsDir' | 'offline' | 'concurrency'>; signal: AbortSignal
  /** validate --update: move nodes whose version follows the latest (`follows`) to the newest one. */
  follows?: ReadonlySet<number>
}): Promise<RegistryResolution> {
  const out: RegistryResolution = { answers: [], diagnostics: [], failures: [] }
  const nodes = o.spec.custom_nodes.flatMap((n, index) => (isRegistryNode(n) ? [{ node: n as RegistryNode, index }] : []))
  if (!nodes.length) return out
  // Loaded on the first request: a pinned node whose archive is in the store (the no-op realize) needs no HTTP code.
  const client = () => import('../registry/client.ts')
  const opts = { baseUrl: o.config.registryUrl, signal: o.signal }
  const gate = new Limit(o.config.concurrency.network)
  const where = (index: number, key: string) => `custom_nodes[${index}].${key}`
  await Promise.all(nodes.map(async ({ node, index }) => {
    const label = nodeName(node)
    const release = await gate.acquire(o.signal).catch(() => undefined)
    if (!release) { out.failures.push(`${label}: interrupted before the registry was asked`); return }
    try {
      let version = node.version
      const latest = !version || !!o.follows?.has(index)
      if (latest) {
        if (o.config.offline) {
          if (version) { out.answers.push({ index, version, latest: false }); return }
          out.failures.push(`${label}: has no version and offline mode is on, so the registry cannot say the latest; set "version" or run without --offline`)
          return
        }
        const info = await (await client()).registryNode(node.registry, opts)
        if (!info.ok) {
          if (info.error.reason === 'unknown-node') out.diagnostics.push({ file: o.file, path: where(index, 'registry'), message: `${label}: ${info.error.message}` })
          else out.failures.push(`${label}: ${info.error.message}`)
          return
        }
        if (!info.value.latest) {
          out.diagnostics.push({ file: o.file, path: where(index, 'registry'), message: `${label}: ${node.registry} has no published version in the registry (only "nightly", a git clone: use "repo"${info.value.repository ? ` ${info.value.repository}` : ''} instead)` })
          return
        }
        version = info.value.latest
      }
      // A pinned sha256 is the pinned version's: another version's archive is looked up by its own key.
      const inStore = await archiveInStore(o.config.modelsDir, archiveKey(o.config.registryUrl, node.registry, version!), version === node.version ? node.sha256 : undefined)
      if (inStore || o.config.offline) { out.answers.push({ index, version: version!, latest }); return }
      const v = await (await client()).registryVersion(node.registry, version!, opts)
      if (!v.ok) {
        if (v.error.reason === 'unknown-node') out.diagnostics.push({ file: o.file, path: where(index, 'registry'), message: `${label}: ${v.error.message}` })
        else if (v.error.reason === 'unknown-version') out.diagnostics.push({ file: o.file, path: where(index, 'version'), message: `${label}: ${v.error.message}` })
        else out.failures.push(`${label}: ${v.error.message}`)
        return
      }
      out.answers.push({ index, version: version!, latest, archiveUrl: v.value.downloadUrl })
    } finally { release() }
  }))
  out.answers.sort((a, b) => a.index - b.index)
  return out
}
