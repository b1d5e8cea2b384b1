import type { RunResult, TaskResult, TaskStatus } from '../engine/results.ts'

/** ComfyUI's start, the `launch` row of run-ui (and of each run-ui --watch cycle). */
export interface LaunchResult {
  status: Extract<TaskStatus, 'ran' | 'skipped' | 'failed' | 'cancelled'>
  ms?: number
  /** Where it answers, once ready. */
  url?: string
  /** ComfyUI's own exit code, once it exited. */
  exit_code?: number
  error?: string
  reason?: string
}

/** A row of the document: a task's result, or the launch. */
export type TaskRow = TaskResult | ({ id: 'launch'; kind: 'launch' } & LaunchResult)

/**
 * The document of realize, run-ui, run-ui --watch and realize --watch (one per cycle) and plan's failures
 * (design.md section 4): `{version, home, ok, tasks}`; `cycle` in watch mode; `error` or `errors` when the
 * version could not be prepared or realized at all.
 */
export interface RunDocument {
  version: string
  home: string
  ok: boolean
  cycle?: number
  error?: string
  errors?: string[]
  tasks: TaskRow[]
}

/** Who the document is about. */
export interface RunSubject { version: string; home: string }

export const launchRow = (launch: LaunchResult): TaskRow => ({ id: 'launch', kind: 'launch', ...launch })

/** A run's document; a launch that failed makes it not ok. */
export function runDocument(subject: RunSubject, run: RunResult, o: { launch?: LaunchResult; cycle?: number } = {}): RunDocument {
  const tasks: TaskRow[] = o.launch ? [...run.tasks, launchRow(o.launch)] : run.tasks
  const ok = run.ok && (!o.launch || o.launch.status === 'ran' || o.launch.status === 'skipped')
  return { version: subject.version, home: subject.home, ok, ...(o.cycle !== undefined ? { cycle: o.cycle } : {}), tasks }
}

/** A version that could not be prepared or realized at all: the run's shape, with what went wrong. */
export function unrunDocument(subject: RunSubject, problem: { error: string } | { errors: string[] }): RunDocument {
  return { version: subject.version, home: subject.home, ok: false, ...problem, tasks: [] }
}

/** The generic failure document of a command that has no run to report. */
export const errorsDocument = (errors: string[], extra: Record<string, unknown> = {}) => ({ ok: false as const, ...extra, errors })
