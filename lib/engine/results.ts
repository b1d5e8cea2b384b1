import type { SkippedRequirement } from '../graph/plugin.ts'

export type TaskStatus = 'ran' | 'skipped' | 'failed' | 'blocked' | 'cancelled'

/** How one task of a realize ended: the row of `realize --json` (design.md section 4). */
export interface TaskResult {
  id: string
  kind: string
  status: TaskStatus
  /** Its own time, from when its dependencies were done (ran and failed only). */
  ms?: number
  /** Why it ran, was skipped, blocked or cancelled. */
  reason?: string
  note?: string
  error?: string
  details?: string[]
  /** collect-deps: the requirement lines it left out. */
  skipped?: SkippedRequirement[]
}

export interface RunResult { ok: boolean; cancelled: boolean; tasks: TaskResult[] }

/** What `plan` says of one task. */
export interface PlanRow { id: string; kind: string; status: 'run' | 'skip'; reason: string }
