import type { DeepCheck, VerifyOptions } from '../graph/plugin.ts'
import type { DepState } from '../engine/freshness.ts'
import { MarkerStore, type Marker } from '../engine/markers.ts'
import { taskContext, type ContextBase } from '../engine/task-context.ts'
import type { Prepared } from './prepare.ts'

/** A deep check's row, with the task whose outputs it checked (what `realize --repair` runs again). */
export interface VerifyRow extends DeepCheck { task: string }

/**
 * The deep checks of every task whose kind has one (`verify`): read-only and without network. A task with a deep
 * check that never finished (no marker) is `missing`. Dependencies' outputs come from their markers, as a no-op
 * realize would see them.
 */
export async function verifyVersion(prepared: Prepared, base: ContextBase, signal: AbortSignal, opts: VerifyOptions, known?: ReadonlyMap<string, Marker>): Promise<VerifyRow[]> {
  const markers = known ?? new Map((await MarkerStore.forHome(prepared.home).all()).map(m => [m.id, m]))
  const deps = new Map<string, DepState>()
  for (const id of prepared.graph.order) {
    const task = prepared.graph.tasks.get(id)!
    const marker = markers.get(id)
    const plugin = prepared.plugins.get(task.kind)
    const outputs = marker && plugin?.parseOutputs ? plugin.parseOutputs(marker.outputs) : marker?.outputs
    if (marker && outputs !== undefined) deps.set(id, { state: 'done', kind: task.kind, fingerprint: marker.fingerprint, outputs })
  }
  const rows: VerifyRow[] = []
  for (const id of prepared.graph.order) {
    const task = prepared.graph.tasks.get(id)!
    const plugin = prepared.plugins.get(task.kind)
    if (!plugin?.verify) continue
    const done = deps.get(id)
    if (!done || done.state !== 'done') { rows.push({ id, task: id, status: 'missing', detail: 'not realized (run realize)' }); continue }
    const ctx = taskContext(base, new Map(task.deps.flatMap(d => (deps.has(d) ? [[d, deps.get(d)!] as const] : []))), signal)
    let checks: DeepCheck[]
    try {
      checks = await plugin.verify(task, done.outputs, ctx, opts)
    } catch (e) {
      checks = [{ id, status: 'drift', detail: `its check failed: ${(e as Error).message ?? e}` }]
    }
    rows.push(...checks.map(c => ({ ...c, task: id })))
  }
  return rows
}

/** The task of an `import:<node>` row (verify --imports): no task makes a node import, so repair re-runs nothing for it. */
export const IMPORT_TASK = 'import'

/** The tasks `realize --repair` runs again: those with a row that does not hold. */
export const drifted = (rows: readonly VerifyRow[]): string[] => [...new Set(rows.filter(r => r.status !== 'ok' && r.task !== IMPORT_TASK).map(r => r.task))]
