import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../util/atomic.ts'
import type { ResolvedConfig } from '../config/resolve.ts'
import { resolveRef } from '../git/resolve-ref.ts'
import { ensureCommit } from '../git/ensure-commit.ts'
import { withoutCredentials } from '../git/repo-url.ts'
import { pinFromMetadata } from '../models/pin.ts'
import { Limit } from '../util/limit.ts'
import { applyPins, type Pins } from '../spec/rewrite.ts'
import type { LoadedSpec } from '../spec/load.ts'
import { parseSpecText } from '../spec/parse-spec.ts'
import { isRegistryNode, nodeName } from '../spec/names.ts'
import type { GitNode } from '../spec/schema.ts'
import { pinRegistryNodes, type PinLine } from './pin-registry-nodes.ts'
import type { Diagnostic } from '../spec/diagnostic.ts'
import { followingLatest, writeResolvedLock } from './resolved-lock.ts'
import { unpinned } from './prepare.ts'

export type { PinLine } from './pin-registry-nodes.ts'

export interface ValidateResult {
  pinned: PinLine[]
  /** Git commits already pinned in the spec and kept as they are: every repository's commit has a stated origin. */
  kept: PinLine[]
  /** What stays unpinned (models whose host publishes no sha256 or did not answer HEAD), with the reason. */
  unpinned: PinLine[]
  /** Refs that do not exist, model URLs that name nothing (a missing file, 404 or 410): spec errors. */
  diagnostics: Diagnostic[]
  /** Failures to reach a host or to read a file (exit 1). */
  failures: string[]
  /** What the user should know that stopped nothing (a host that did not answer HEAD for a pinned model). */
  notes: string[]
  written: boolean
  lockPath?: string
}

/**
 * Resolves refs to commits through the git mirrors and pins models from the store's index and from
 * HEAD metadata (sizes; sha256 where the host publishes it; a host that refuses HEAD leaves a note; a page, by its
 * type or first bytes, is refused).
 * Writes the pins into the spec text, formatting kept, and the resolved lock into the cache. Never
 * downloads a model body.
 */
export async function validateSpec(o: { loaded: LoadedSpec; config: ResolvedConfig; update: boolean; signal: AbortSignal; env: NodeJS.ProcessEnv; onWait?(line: string): void }): Promise<ValidateResult> {
  const { spec, file } = o.loaded
  const result: ValidateResult = { pinned: [], kept: [], unpinned: [], diagnostics: [], failures: [], notes: [], written: false }
  const pins: Pins = { nodes: [], models: [] }
  const gate = new Limit(o.config.concurrency.git)

  const repos = [
    { path: 'comfyui', label: 'ComfyUI core', repo: spec.comfyui.repo, ref: spec.comfyui.ref, commit: spec.comfyui.commit, index: -1 },
    ...spec.custom_nodes.flatMap((n, i) => (isRegistryNode(n) ? [] : [n as GitNode])
      .map(g => ({ path: `custom_nodes[${i}]`, label: nodeName(g), repo: g.repo, ref: g.ref, commit: g.commit, index: i }))),
  ]
  await Promise.all(repos.map(async r => {
    // Interrupted while waiting for a slot: a failure like any other, so validate still reports it (130).
    const release = await gate.acquire(o.signal).catch(() => undefined)
    if (!release) { result.failures.push(`${r.label}: interrupted before its ref was resolved`); return }
    try {
      // With --update a pinned repo follows its ref again; without a ref the pinned commit stays, if it exists.
      if (r.commit && (!o.update || !r.ref)) {
        const has = await ensureCommit({ cacheRoot: o.config.cacheRoot, url: r.repo, commit: r.commit, offline: o.config.offline, env: o.env, signal: o.signal, onWait: o.onWait })
        if (!has.ok && has.error.reason === 'missing-commit') {
          result.diagnostics.push({ file, path: `${r.path}.commit`, message: `${r.label}: commit ${r.commit} is not in ${withoutCredentials(r.repo)} (neither its branches and tags nor a fetch by sha have it); check the sha, or remove "commit" and let validate pin the ref` })
          return
        }
        // A host that cannot be asked leaves the pin as written: realize names the problem if it lasts.
        if (!has.ok) result.notes.push(`${r.label}: commit ${r.commit.slice(0, 10)} not checked (${has.error.message})`)
        result.kept.push({ path: `${r.path}.commit`, what: r.label, value: r.commit, from: 'pinned in the spec' })
        return
      }
      const res = await resolveRef({ cacheRoot: o.config.cacheRoot, url: r.repo, ref: r.ref, offline: o.config.offline, refresh: o.update || !r.commit, env: o.env, signal: o.signal, onWait: o.onWait })
      if (!res.ok) {
        if (res.error.reason === 'missing-ref') result.diagnostics.push({ file, path: `${r.path}.ref`, message: `${r.label}: ${res.error.message}` })
        else result.failures.push(`${r.label}: ${res.error.message}`)
        return
      }
      if (res.value.commit === r.commit) { result.kept.push({ path: `${r.path}.commit`, what: r.label, value: r.commit, from: `pinned in the spec; still ${refOrigin(r.ref)}` }); return }
      result.pinned.push({ path: `${r.path}.commit`, what: r.label, value: res.value.commit, from: refOrigin(r.ref) })
      if (r.index < 0) pins.comfyui = { commit: res.value.commit }
      else pins.nodes!.push({ index: r.index, commit: res.value.commit })
    } finally { release() }
  }))

  const follows = await followingLatest(o.config.cacheRoot, spec.id)
  const registry = await pinRegistryNodes({ spec, file, config: o.config, update: o.update, follows, env: o.env, signal: o.signal, onNote: o.onWait })
  result.pinned.push(...registry.pinned)
  result.unpinned.push(...registry.unpinned)
  result.diagnostics.push(...registry.diagnostics)
  result.failures.push(...registry.failures)
  pins.nodes!.push(...registry.pins)

  const net = new Limit(o.config.concurrency.network)
  const FROM = { store: 'the model store', host: 'the host', file: 'the file', none: '' } as const
  await Promise.all(spec.models.map(async (m, i) => {
    if (m.sha256 && m.size !== undefined && !o.update) return
    const release = await net.acquire(o.signal).catch(() => undefined)
    if (!release) { result.failures.push(`${m.path}: interrupted before its host was asked`); return }
    let found
    try {
      found = await pinFromMetadata({ modelsDir: o.config.modelsDir, url: m.url, offline: o.config.offline, rules: o.config.auth, env: o.env, signal: o.signal, timeoutMs: o.config.timeouts.downloadHeadersS * 1000 })
    } finally { release() }
    if (!found.ok) {
      // Like a ref that does not exist: the spec names something that is not there.
      if (found.error.reason === 'missing' || found.error.reason === 'page') result.diagnostics.push({ file, path: `models[${i}].url`, message: `${m.path}: ${found.error.message}` })
      else result.failures.push(`${m.path}: ${found.error.message}`)
      return
    }
    // A pinned sha256 is kept unless the store knows this URL gives the same blob (then its size is taken).
    const sha256 = m.sha256 ?? found.value.sha256
    const size = m.size ?? (m.sha256 && found.value.sha256 && found.value.sha256 !== m.sha256 ? undefined : found.value.size)
    const pin: { index: number; sha256?: string; size?: number } = { index: i }
    if (sha256 !== m.sha256) { pin.sha256 = sha256; result.pinned.push({ path: `models[${i}].sha256`, what: m.path, value: sha256, from: FROM[found.value.source] }) }
    if (size !== m.size && size !== undefined) { pin.size = size; result.pinned.push({ path: `models[${i}].size`, what: m.path, value: String(size), from: FROM[found.value.source] }) }
    if (pin.sha256 !== undefined || pin.size !== undefined) pins.models!.push(pin)
    if (!sha256) {
      result.unpinned.push({ path: `models[${i}].sha256`, what: m.path, problem: whyUnpinned(m.url, found.value.headUnanswered, o.config.offline) })
    } else if (found.value.headUnanswered) {
      // Pinned already, so nothing stays unpinned; but a missing or refused token still matters to realize.
      result.notes.push(`${m.path}: the host did not answer HEAD (${found.value.headUnanswered}); its pinned sha256 is checked when realize downloads it`)
    }
  }))

  for (const u of unpinned(spec)) {
    if (u.path.startsWith('models[') || result.unpinned.some(p => p.path === u.path)) continue
    const pinnedNow = result.pinned.some(p => p.path === u.path)
    if (!pinnedNow && !result.diagnostics.some(d => d.path.startsWith(u.path.replace(/\.commit$/, '')))) result.unpinned.push({ path: u.path, what: u.what })
  }
  if (result.diagnostics.length) return result
  const anything = pins.comfyui || pins.nodes!.length || pins.models!.length
  if (anything) {
    const text = applyPins(await readFile(file, 'utf8'), pins)
    // Never write a spec that would not load back.
    const check = parseSpecText(text, file, spec.id)
    if (!check.ok) throw new Error(`internal error: pinning produced an invalid spec: ${check.error.map(d => d.message).join('; ')}`)
    await writeFileAtomic(file, text) // a kill mid-write must not leave a truncated spec
    result.written = true
    result.lockPath = await writeResolvedLock(o.config.cacheRoot, check.value.spec, registry.follows)
  } else {
    result.lockPath = await writeResolvedLock(o.config.cacheRoot, spec, registry.follows)
  }
  return result
}

/** Where a resolved commit came from, in words: a short hash is not a branch, and the user should see which it was. */
function refOrigin(ref: string | undefined): string {
  if (ref === undefined) return "the default branch's newest commit"
  if (/^[0-9a-f]{40}$/i.test(ref)) return `the full commit ${ref} given as ref`
  if (/^[0-9a-f]{4,39}$/i.test(ref)) return `the short hash ${ref}, resolved against the repository`
  return `ref ${ref}`
}

/** Why a model's sha256 stays unpinned, and what will pin it. */
function whyUnpinned(url: string, headUnanswered: string | undefined, offline: boolean): string {
  if (url.startsWith('file:')) return 'a file:// model is hashed into the store by the first realize; validate pins its sha256 from the store after that'
  if (headUnanswered) return `the host did not answer HEAD (${headUnanswered}); its sha256 is taken when realize downloads it, then validate pins it from the store`
  const host = new URL(url).host
  // Offline, the host was not asked: saying it publishes no hash would be a guess.
  if (offline) return `not in the model store, and offline mode is on so ${host} was not asked; validate without --offline, or realize it once, then validate again`
  return `${host} publishes no sha256 for it; realize downloads it once, then validate pins it from the store`
}
