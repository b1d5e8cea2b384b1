import { mkdir, rm } from 'node:fs/promises'
import { isRegistryNode, nodeName } from '../../spec/names.ts'
import { defineKind, isRecord, TaskFailure, type Json, type ResolvedNode, type ResolvedRegistryNode, type TaskContext } from '../plugin.ts'
import { homeLayout, nodePlace } from '../../layout/home.ts'
import { formatBytes, formatProgress } from '../../fetch/progress.ts'
import { sha256 } from '../../util/hash.ts'
import { archiveInStore, archiveKey } from '../../models/registry-archive.ts'
import { readTracking, TRACKING_FILE } from '../../registry/place-pack.ts'
import { unpackNodeId, type NamedNode } from './clone-node.ts'
import { exists, nodeInPlace } from './_node-place.ts'

/** What an unpack records: the folder, the archive it came from, and the hash of the `.tracking` it wrote. */
export interface Unpacked { dir: string; sha256: string; tracking: string }

function parseUnpacked(recorded: Json): Unpacked | undefined {
  if (!isRecord(recorded)) return undefined
  const { dir, sha256, tracking } = recorded
  return typeof dir === 'string' && typeof sha256 === 'string' && typeof tracking === 'string' ? { dir, sha256, tracking } : undefined
}

/**
 * A registry (CNR) node: its archive from the store (downloaded once for every version and home) unpacked into
 * custom_nodes/<name> with the `.tracking` file ComfyUI-Manager writes, so Manager and ComfyUI see a CNR install.
 */
export const unpackNode = defineKind({
  kind: 'unpack-node',
  resource: 'network',
  tasks: spec => spec.custom_nodes.filter((n: ResolvedNode): n is ResolvedRegistryNode => isRegistryNode(n)).map(node => ({
    id: unpackNodeId(nodeName(node)), kind: 'unpack-node', deps: ['clone-core'], inputDeps: [],
    inputs: { registry: node.registry, version: node.version, sha256: node.sha256 ?? null, enabled: node.enabled },
    subject: { name: nodeName(node), node } satisfies NamedNode<ResolvedRegistryNode>,
  })),
  parseOutputs: parseUnpacked,
  async outputsStand(_task, u) {
    const names = await readTracking(u.dir)
    return names !== undefined && sha256(names.join('\n')) === u.tracking
  },
  async verify({ id }, u, ctx) {
    const [{ driftFromArchive }, { blobPath }] = await Promise.all([import('../../registry/archive-drift.ts'), import('../../models/store.ts')])
    return [{ id, ...(await driftFromArchive(blobPath(ctx.env.modelsDir, u.sha256), u.dir)) }]
  },
  async run({ subject: { name, node } }, ctx) {
    const home = homeLayout(ctx.env.home)
    const dir = await nodeInPlace(ctx, name, node.enabled, TRACKING_FILE)
    const label = `${name} (${node.registry}@${node.version})`
    const key = archiveKey(ctx.config.registryUrl, node.registry, node.version)
    let archive = await archiveInStore(ctx.env.modelsDir, key, node.sha256)
    let note = 'archive from the store'
    if (!archive) {
      if (ctx.config.offline) throw new TaskFailure(`${label}: the archive is not in the store and offline mode is on; run once without --offline / COMFY_OFFLINE to download it`)
      const { ensureArchive } = await import('../../models/registry-archive.ts')
      const got = await ensureArchive({
        modelsDir: ctx.env.modelsDir, key, url: node.archiveUrl ?? await askArchiveUrl(ctx, node, label), sha256: node.sha256, name: label,
        rules: ctx.config.auth, env: ctx.processEnv, signal: ctx.signal, onProgress: p => ctx.progress(formatProgress(p)), onNote: ctx.log,
        timeouts: { headersMs: ctx.config.timeouts.downloadHeadersS * 1000, bodyMs: ctx.config.timeouts.downloadBodyS * 1000 },
      })
      if (!got.ok) throw new TaskFailure(got.error.message)
      archive = got.value
      note = got.value.downloaded ? `fetched ${formatBytes(got.value.bytesFetched)}` : note
    }
    const [{ unpackArchive }, { placePack }] = await Promise.all([import('../../registry/unpack-archive.ts'), import('../../registry/place-pack.ts')])
    // A folder left by a killed run is from an attempt that never reached custom_nodes/: start it again.
    const unpacked = home.unpackDir(name)
    await rm(unpacked, { recursive: true, force: true })
    await mkdir(unpacked, { recursive: true })
    const names = await unpackArchive(archive.blob, unpacked)
    if (!names.ok) {
      await rm(unpacked, { recursive: true, force: true })
      throw new TaskFailure(`${label}: ${names.error.message}`)
    }
    const placed = await placePack({ unpacked, names: names.value, dir, shown: `${nodePlace(node.enabled)}${name}` })
    if (!placed.ok) {
      await rm(unpacked, { recursive: true, force: true })
      throw new TaskFailure(`${label}: ${placed.error}`)
    }
    const how = placed.value.action === 'installed' ? `unpacked ${names.value.length} entries`
      : `switched to ${node.version}${placed.value.removed ? `, ${placed.value.removed} file(s) of the old version removed` : ''}`
    return { outputs: { dir, sha256: archive.sha256, tracking: sha256(placed.value.tracking) }, note: `${how} (${note})` }
  },
  async prune({ outputs }) {
    if (!(await exists(outputs.dir))) return undefined
    const { removePack } = await import('../../registry/place-pack.ts')
    const left = await removePack(outputs.dir)
    return left ? `${outputs.dir} left the spec; its registry files were removed, the ${left.length} entries of your own kept` : `removed ${outputs.dir} (no longer in the spec)`
  },
})

/** The archive URL of a version prepare did not ask for (the store had the archive then, and lost it since). */
async function askArchiveUrl(ctx: TaskContext, node: ResolvedRegistryNode, label: string): Promise<string> {
  const { registryVersion } = await import('../../registry/client.ts')
  const v = await registryVersion(node.registry, node.version, { baseUrl: ctx.config.registryUrl, signal: ctx.signal })
  if (!v.ok) throw new TaskFailure(`${label}: ${v.error.message}`)
  return v.value.downloadUrl
}
