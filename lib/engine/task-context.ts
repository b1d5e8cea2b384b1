import type { DoneDep, TaskContext } from '../graph/plugin.ts'
import type { DepState } from './freshness.ts'

/** What every task's context shares in one run. */
export type ContextBase = Pick<TaskContext, 'spec' | 'env' | 'config' | 'secrets' | 'force' | 'processEnv' | 'repair'>

/** A task's context: the run's shared part, its finished dependencies, and where its lines go. */
export function taskContext(base: ContextBase, deps: ReadonlyMap<string, DepState>, signal: AbortSignal,
  out: Pick<TaskContext, 'log' | 'progress'> = { log: () => {}, progress: () => {} }): TaskContext {
  const done = new Map<string, DoneDep>()
  for (const [id, d] of deps) if (d.state === 'done') done.set(id, { kind: d.kind, fingerprint: d.fingerprint, outputs: d.outputs })
  return { ...base, deps: done, signal, ...out }
}
