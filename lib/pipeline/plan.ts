import type { ResolvedConfig } from '../config/resolve.ts'
import { MarkerStore, type Marker } from '../engine/markers.ts'
import { explainChange, fingerprintOf, fingerprintRecord, inputDepsOf } from '../graph/fingerprint.ts'
import type { Json, TaskContext } from '../graph/plugin.ts'
import type { Prepared } from './prepare.ts'

export interface PlanRow { id: string; kind: string; status: 'run' | 'skip'; reason: string }

/**
 * What `realize` would do, and why, without changing anything: each task's fingerprint is computed
 * as the executor would (dependencies' recorded outputs stand in for a run) and compared with its marker.
 */
export async function plan(prepared: Prepared, config: ResolvedConfig, signal: AbortSignal, processEnv: Readonly<Record<string, string | undefined>>,
  known?: ReadonlyMap<string, Marker>): Promise<PlanRow[]> {
  // Markers already read (by realize's prune) are not read again, one task after another.
  const all = known ?? new Map((await MarkerStore.forHome(prepared.home).all()).map(m => [m.id, m]))
  // `changes`: whether a task's run changes what its dependents see. 'yes' for a new fingerprint; 'maybe' when it
  // runs with the same one (its outputs were missing) or may not run at all: its dependents then only may run.
  const state = new Map<string, { changes: 'yes' | 'maybe' | 'no'; fingerprint?: string; outputs: Json }>()
  const rows: PlanRow[] = []
  for (const id of prepared.graph.order) {
    const task = prepared.graph.tasks.get(id)!
    const plugin = prepared.plugins.get(task.kind)!
    const row = (status: PlanRow['status'], reason: string, fingerprint?: string, outputs: Json = null, changes: 'yes' | 'maybe' = 'yes') => {
      rows.push({ id, kind: task.kind, status, reason })
      state.set(id, { changes: status === 'skip' ? 'no' : changes, fingerprint, outputs })
    }
    const marker = all.get(id)
    const upstream = inputDepsOf(task).filter(d => state.get(d)!.changes === 'yes')
    if (upstream.length) { row('run', marker ? `dependency ${upstream.join(', ')} will run` : 'not run before'); continue }
    // What a task discovers (a requirements file, say) is read only after an earlier task ran.
    const before = task.deps.filter(d => state.get(d)!.changes !== 'no')
    if (before.length && (plugin.discover || inputDepsOf(task).some(d => before.includes(d)))) {
      row('run', marker ? `may run: it is decided after ${before.join(', ')} ran` : 'not run before', undefined, null, marker ? 'maybe' : 'yes')
      continue
    }
    const ctx: TaskContext = {
      spec: prepared.spec, env: prepared.env, config, secrets: [], force: false, signal, processEnv,
      deps: new Map(task.deps.map(d => [d, { fingerprint: state.get(d)!.fingerprint!, outputs: state.get(d)!.outputs }])),
      log: () => {}, progress: () => {},
    }
    const discovered = plugin.discover ? await plugin.discover(task, ctx).catch(() => undefined) : {}
    if (!discovered) { row('run', 'its inputs cannot be read yet'); continue }
    const record = fingerprintRecord(task, new Map(inputDepsOf(task).map(d => [d, state.get(d)!.fingerprint!])), discovered)
    const fingerprint = fingerprintOf(record)
    if (!marker) { row('run', 'not run before', fingerprint); continue }
    if (marker.fingerprint !== fingerprint) { row('run', explainChange(marker.record, record), fingerprint); continue }
    if (!(await plugin.outputsStand(task, marker.outputs, ctx))) { row('run', 'its outputs are missing or changed', fingerprint, null, 'maybe'); continue }
    row('skip', 'up to date', fingerprint, marker.outputs)
  }
  return rows
}
