import { explainChange, fingerprintOf, fingerprintRecord, inputDepsOf, type FingerprintRecord } from '../graph/fingerprint.ts'
import type { AnyTaskPlugin, TaskContext, TaskDef } from '../graph/plugin.ts'
import type { Marker } from './markers.ts'

/**
 * What is known of a dependency when a task is decided: `done` (it finished, or is up to date: its fingerprint,
 * outputs and what it gives its dependents' fingerprints, `identity` (default: its fingerprint), are known), or, for `plan` only, `changes` (it
 * will run with a new fingerprint; `cutoff`: its kind has early cutoff, so whether its output changes is known only
 * once it ran) or `maybe` (it will run, or may, but with the fingerprint it has, or one not known yet).
 */
export type DepState =
  | { state: 'done'; kind: string; fingerprint: string; identity?: string; outputs: unknown }
  | { state: 'changes'; kind: string; cutoff?: boolean } | { state: 'maybe'; kind: string }

/** Why a task with a matching fingerprint runs: what it made is gone or changed, outside the tool. */
export const OUTPUTS_CHANGED = 'its outputs are missing or changed'

/**
 * The one answer to "is this task up to date, and why not", for `realize` and `plan` alike:
 * - `skip`: the stored fingerprint matches, the recorded outputs parse and still stand;
 * - `run`: with the reason; `fingerprint` is absent when it cannot be known yet (plan, a dependency will run);
 *   `changes` says whether the run gives the task a new fingerprint (its dependents then run too) or may not;
 * - `fail`: its inputs could not be read (`discover` failed), so it cannot run either.
 */
export type Freshness =
  | { decision: 'skip'; reason: 'up to date'; fingerprint: string; record: FingerprintRecord; outputs: unknown }
  | { decision: 'run'; reason: string; changes: 'yes' | 'maybe'; fingerprint?: string; record?: FingerprintRecord }
  | { decision: 'fail'; reason: string; error: unknown }

/**
 * Decides one task from its dependencies' states, its marker and its kind's checks. Reads files only (discover,
 * outputsStand): it never starts a process, so the no-op realize and `plan` cost what reading costs.
 */
export async function decideFreshness(o: {
  task: TaskDef
  plugin: AnyTaskPlugin
  deps: ReadonlyMap<string, DepState>
  marker: Marker | undefined
  ctx: TaskContext
}): Promise<Freshness> {
  const { task, plugin, marker, ctx } = o
  const state = (id: string) => o.deps.get(id)!
  const notRunBefore = 'not run before'
  const upstream = inputDepsOf(task).filter(d => { const s = state(d); return s.state === 'changes' && !s.cutoff })
  if (upstream.length) return { decision: 'run', reason: marker ? `dependency ${upstream.join(', ')} will run` : notRunBefore, changes: 'yes' }
  // What a task discovers (a requirements file, say) can be read only once the tasks before it ran.
  const pending = task.deps.filter(d => state(d).state !== 'done')
  if (pending.length && (plugin.discover || inputDepsOf(task).some(d => pending.includes(d)))) {
    return marker
      ? { decision: 'run', reason: `may run: it is decided after ${pending.join(', ')} ran`, changes: 'maybe' }
      : { decision: 'run', reason: notRunBefore, changes: 'yes' }
  }
  let discovered
  try {
    discovered = plugin.discover ? await plugin.discover(task, ctx) : {}
  } catch (error) {
    return { decision: 'fail', reason: `its inputs cannot be read: ${(error as Error).message ?? error}`, error }
  }
  const fingerprints = new Map<string, string>()
  for (const d of inputDepsOf(task)) {
    const s = state(d)
    if (s.state === 'done') fingerprints.set(d, s.identity ?? s.fingerprint)
  }
  const record = fingerprintRecord(task, fingerprints, discovered)
  const fingerprint = fingerprintOf(record)
  const run = (reason: string, changes: 'yes' | 'maybe' = 'yes') => ({ decision: 'run' as const, reason, changes, fingerprint, record })
  if (!marker) return run(notRunBefore)
  if (marker.fingerprint !== fingerprint) return run(explainChange(marker.record, record))
  // Same fingerprint: a run makes the same outputs again, so what depends on it may not change.
  const outputs = plugin.parseOutputs ? plugin.parseOutputs(marker.outputs) : marker.outputs
  if (outputs === undefined) return run('its recorded outputs are from an older tool', 'maybe')
  if (!(await plugin.outputsStand(task, outputs, ctx))) return run(OUTPUTS_CHANGED, 'maybe')
  return { decision: 'skip', reason: 'up to date', fingerprint, record, outputs }
}
