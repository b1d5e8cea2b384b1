import type { Json, TaskDef, TaskPlugin } from './plugin.ts'
import { canonicalJson, sha256 } from '../util/hash.ts'
import { redactJson } from '../util/redact.ts'

/**
 * Bumped whenever what a task produces for the same inputs changes (a new checkout layout, a new
 * store format). Markers written under another value are ignored, so everything re-runs once.
 */
export const CACHE_SCHEMA = 1

/** The record a fingerprint is the hash of; stored in markers so `plan` can say what changed. */
export interface FingerprintRecord {
  kind: string
  cache_schema: number
  inputs: TaskDef['inputs']
  /** Inputs that became known only after the dependencies ran (file hashes, tools found). */
  discovered: { [k: string]: Json | undefined }
  /**
   * Dependency id → its fingerprint (a change upstream changes every task downstream), or for a kind with early
   * cutoff (`outputHash`) `out:` and the hash of what its run made: the same made again changes nothing here.
   */
  deps: Record<string, string>
}

/** What a finished task contributes to its dependents' fingerprints (see FingerprintRecord.deps). */
export function depIdentity(plugin: Pick<TaskPlugin<any, any, any>, 'outputHash'>, fingerprint: string, outputs: unknown): string {
  return plugin.outputHash ? `out:${sha256(canonicalJson(plugin.outputHash(outputs) ?? null))}` : fingerprint
}

/** `depIdentities`: each dependency's {@link depIdentity}. */
export function fingerprintRecord(task: TaskDef, depIdentities: ReadonlyMap<string, string>, discovered: FingerprintRecord['discovered'] = {}): FingerprintRecord {
  const deps: Record<string, string> = {}
  for (const d of inputDepsOf(task)) {
    const fp = depIdentities.get(d)
    if (fp === undefined) throw new Error(`internal error: fingerprint of ${d} needed before ${task.id}`)
    deps[d] = fp
  }
  return { kind: task.kind, cache_schema: CACHE_SCHEMA, inputs: task.inputs, discovered, deps }
}

/** The dependencies whose fingerprints go into a task's own. */
export const inputDepsOf = (task: TaskDef): string[] => task.inputDeps ?? task.deps

export const fingerprintOf = (record: FingerprintRecord): string => sha256(canonicalJson(record))

/**
 * Fingerprints of a whole graph, given what each task discovered (absent = nothing discovered).
 * Pure; the executor computes the same values one task at a time as dependencies finish.
 */
export function fingerprintGraph(
  graph: { tasks: ReadonlyMap<string, TaskDef>; order: readonly string[] },
  discovered: ReadonlyMap<string, FingerprintRecord['discovered']> = new Map(),
): Map<string, string> {
  const fps = new Map<string, string>()
  for (const id of graph.order) {
    const task = graph.tasks.get(id)!
    fps.set(id, fingerprintOf(fingerprintRecord(task, fps, discovered.get(id))))
  }
  return fps
}

/** What differs between a stored record and the current one, in words, for `plan`. */
export function explainChange(before: FingerprintRecord | undefined, current: FingerprintRecord): string {
  if (!before) return 'not run before'
  // The stored record is redacted (markers never hold credentials): compare it with the current one redacted alike,
  // and never show a credential. A change only in a credential shows as the whole record changing.
  const now = redactJson(current)
  if (before.cache_schema !== now.cache_schema) return `cache schema changed (${before.cache_schema} → ${now.cache_schema})`
  const changed = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter(k => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null))
  const inputs = changed(before.inputs, now.inputs)
  if (inputs.length) return inputs.map(k => `${k} changed (${short(before.inputs[k])} → ${short(now.inputs[k])})`).join('; ')
  const found = changed(before.discovered, now.discovered)
  if (found.length) return found.map(k => `${k} changed`).join('; ')
  const deps = changed(before.deps, now.deps)
  const made = deps.filter(d => now.deps[d]?.startsWith('out:') && before.deps[d]?.startsWith('out:'))
  if (made.length && made.length === deps.length) return `what ${made.join(', ')} made changed`
  if (deps.length) return `dependency ${deps.join(', ')} changed`
  return canonicalJson(before) === canonicalJson(now) ? 'a credential in its inputs changed' : 'fingerprint changed'
}

function short(v: unknown): string {
  if (v === undefined || v === null) return 'none'
  const s = typeof v === 'string' ? v : canonicalJson(v)
  const shown = /^[0-9a-f]{40,64}$/.test(s) ? s.slice(0, 10) : s
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown
}
