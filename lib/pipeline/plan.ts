import type { Marker } from '../engine/markers.ts'
import { MarkerStore } from '../engine/markers.ts'
import { planGraph } from '../engine/plan.ts'
import type { PlanRow } from '../engine/results.ts'
import type { ContextBase } from '../engine/task-context.ts'
import type { TaskSettings } from '../graph/plugin.ts'
import type { Prepared } from './prepare.ts'

/** The run-wide part of every task's context for a prepared version: the same for plan and realize. */
export const contextBase = (prepared: Prepared, o: { config: TaskSettings; secrets: string[]; force: boolean; processEnv: Readonly<Record<string, string | undefined>> }): ContextBase =>
  ({ spec: prepared.spec, env: prepared.env, config: o.config, secrets: o.secrets, force: o.force, processEnv: o.processEnv })

/**
 * What `realize` would do for a prepared version, and why, without changing anything. `known`: markers already
 * read (by realize's prune), not read again.
 */
export async function plan(prepared: Prepared, base: ContextBase, signal: AbortSignal, known?: ReadonlyMap<string, Marker>): Promise<PlanRow[]> {
  const markers = known ?? new Map((await MarkerStore.forHome(prepared.home).all()).map(m => [m.id, m]))
  return planGraph({ graph: prepared.graph, plugins: prepared.plugins, markers, base, signal })
}
