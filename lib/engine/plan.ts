import type { Graph } from '../graph/compile.ts'
import type { AnyTaskPlugin } from '../graph/plugin.ts'
import { depIdentity } from '../graph/fingerprint.ts'
import { decideFreshness, type DepState } from './freshness.ts'
import type { Marker } from './markers.ts'
import type { PlanRow } from './results.ts'
import { taskContext, type ContextBase } from './task-context.ts'

/**
 * What a realize would do, and why, without changing anything: each task is decided as the executor decides it
 * (decideFreshness), with what is known before anything runs. A task that will run makes its dependents run (a new
 * fingerprint) or leaves them to be decided then (the same one, or one not known yet).
 */
export async function planGraph(o: { graph: Graph; plugins: ReadonlyMap<string, AnyTaskPlugin>; markers: ReadonlyMap<string, Marker>; base: ContextBase; signal: AbortSignal }): Promise<PlanRow[]> {
  const states = new Map<string, DepState>()
  const rows: PlanRow[] = []
  for (const id of o.graph.order) {
    const task = o.graph.tasks.get(id)!
    const plugin = o.plugins.get(task.kind)!
    const deps = new Map(task.deps.map(d => [d, states.get(d)!]))
    const f = await decideFreshness({ task, plugin, deps, marker: o.markers.get(id), ctx: taskContext(o.base, deps, o.signal) })
    if (f.decision === 'skip') {
      states.set(id, { state: 'done', kind: task.kind, fingerprint: f.fingerprint, identity: depIdentity(plugin, f.fingerprint, f.outputs), outputs: f.outputs })
      rows.push({ id, kind: task.kind, status: 'skip', reason: f.reason })
    } else {
      // A task that would fail blocks its dependents: like one that changes, they do not stand as they are.
      const maybe = f.decision === 'run' && f.changes === 'maybe'
      // Early cutoff: what follows a kind that declares its output is decided once it ran (the same output: skipped).
      states.set(id, maybe ? { state: 'maybe', kind: task.kind } : { state: 'changes', kind: task.kind, cutoff: f.decision === 'run' && !!plugin.outputHash })
      rows.push({ id, kind: task.kind, status: 'run', reason: f.decision === 'fail' ? `would fail: ${f.reason}` : f.reason })
    }
  }
  return rows
}
