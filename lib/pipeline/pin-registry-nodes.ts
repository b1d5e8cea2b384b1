import type { ResolvedConfig } from '../config/resolve.ts'
import type { Diagnostic } from '../spec/diagnostic.ts'
import type { RegistryNode, Spec } from '../spec/schema.ts'
import { nodeName } from '../spec/names.ts'
import { archiveInStore, archiveKey } from '../models/registry-archive.ts'
import { formatBytes } from '../fetch/progress.ts'
import { resolveRegistryNodes } from './registry-nodes.ts'

/** One value validate pinned or could not pin. */
export interface PinLine { path: string; what: string; value?: string; from?: string; problem?: string }

export interface RegistryPins {
  pinned: PinLine[]
  unpinned: PinLine[]
  diagnostics: Diagnostic[]
  failures: string[]
  pins: Array<{ index: number; version?: string; sha256?: string }>
  /** Names of the nodes whose version validate chose, for the resolved lock. */
  follows: Set<string>
}

/**
 * validate's part for registry nodes: the version (the latest when the spec has none; with --update, the newest for
 * a node whose version validate chose before), and the sha256 of the archive as first downloaded into the store.
 * The registry publishes no hash, so that download is what the pin means: every later realize gets these bytes.
 */
export async function pinRegistryNodes(o: {
  spec: Spec; file: string; config: ResolvedConfig; update: boolean; follows: ReadonlyMap<string, string>
  env: Readonly<Record<string, string | undefined>>; signal: AbortSignal; onNote?: ((line: string) => void) | undefined
}): Promise<RegistryPins> {
  const out: RegistryPins = { pinned: [], unpinned: [], diagnostics: [], failures: [], pins: [], follows: new Set() }
  const node = (i: number) => o.spec.custom_nodes[i] as RegistryNode
  // A node follows the latest when validate chose its version and the spec still holds that version.
  const following = new Set(o.spec.custom_nodes.flatMap((n, i) => {
    const chose = o.follows.get(nodeName(n))
    return chose !== undefined && chose === (n as RegistryNode).version ? [i] : []
  }))
  const resolved = await resolveRegistryNodes({ spec: o.spec, file: o.file, config: o.config, signal: o.signal, ...(o.update ? { follows: following } : {}) })
  out.diagnostics.push(...resolved.diagnostics)
  out.failures.push(...resolved.failures)
  for (const a of resolved.answers) {
    const n = node(a.index)
    const label = nodeName(n)
    const path = `custom_nodes[${a.index}]`
    if (a.latest || following.has(a.index)) out.follows.add(label)
    const pin: { index: number; version?: string; sha256?: string } = { index: a.index }
    if (a.version !== n.version) {
      pin.version = a.version
      out.pinned.push({ path: `${path}.version`, what: label, value: a.version, from: n.version ? `${n.version} (--update)` : 'latest' })
    }
    // A pinned sha256 belongs to its version: a new version needs the new archive's.
    const pinnedSha = pin.version ? undefined : n.sha256
    let sha256 = pinnedSha ?? (await archiveInStore(o.config.modelsDir, archiveKey(o.config.registryUrl, n.registry, a.version), undefined))?.sha256
    if (!sha256 && a.archiveUrl) {
      const { ensureArchive } = await import('../models/registry-archive.ts')
      const got = await ensureArchive({
        modelsDir: o.config.modelsDir, key: archiveKey(o.config.registryUrl, n.registry, a.version), url: a.archiveUrl, name: `${label} (${n.registry}@${a.version})`,
        rules: o.config.auth, env: o.env, signal: o.signal, onNote: o.onNote,
        timeouts: { headersMs: o.config.timeouts.downloadHeadersS * 1000, bodyMs: o.config.timeouts.downloadBodyS * 1000 },
      })
      if (!got.ok) { out.failures.push(got.error.message); continue }
      sha256 = got.value.sha256
      o.onNote?.(`${label}: downloaded the ${n.registry}@${a.version} archive (${formatBytes(got.value.bytesFetched)}) to pin its sha256`)
    }
    if (sha256 && sha256 !== n.sha256) {
      pin.sha256 = sha256
      out.pinned.push({ path: `${path}.sha256`, what: label, value: sha256, from: 'the archive in the store' })
    }
    if (!sha256) out.unpinned.push({ path: `${path}.sha256`, what: label, problem: 'the archive is not in the store and offline mode is on; validate without --offline downloads it and pins its sha256' })
    if (pin.version !== undefined || pin.sha256 !== undefined) out.pins.push(pin)
  }
  return out
}
