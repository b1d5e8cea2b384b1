import type { Spec } from '../spec/schema.ts'

/** What a task mostly waits on; each has its own concurrency limit. */
export type Resource = 'git' | 'network' | 'cpu' | 'none'

/** JSON-safe data: task inputs and recorded outputs are stored in skip markers. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined }

/** One node of the graph, as compiled from a spec (no I/O involved in making it). */
export interface TaskDef {
  /** Contract id, e.g. `clone-node:Foo`, `fetch-model:checkpoints/a.safetensors`. */
  id: string
  kind: string
  /** Ids of the tasks that must succeed first. */
  deps: string[]
  /**
   * The subset of `deps` whose fingerprints are inputs of this one (default: all). A dependency left
   * out only orders the work: a node checkout waits for the core's but does not change with it, and
   * collect-deps hashes the requirements files themselves rather than the commits they came from.
   */
  inputDeps?: string[]
  /**
   * Everything that decides what the task produces and that is known before anything runs.
   * Hashed into the fingerprint and stored (credentials redacted) in the skip marker, so `plan`
   * can name the input that changed. Never put a secret here.
   */
  inputs: { [k: string]: Json | undefined }
}

/** The part of a spec after refs were resolved: every repository has a commit. */
export interface ResolvedSpec extends Spec {
  comfyui: Spec['comfyui'] & { commit: string }
  custom_nodes: (Spec['custom_nodes'][number] & { commit: string })[]
}

/** Static facts about where a version is realized; part of what the graph is compiled from. */
export interface GraphEnv {
  home: string
  cacheRoot: string
  modelsDir: string
  installer: 'auto' | 'uv' | 'pip'
  linkMode: 'symlink' | 'hardlink' | 'copy'
}

/** Handed to every running task. Tasks report through `log`/`progress`, never to stdout. */
export interface TaskContext {
  spec: ResolvedSpec
  env: GraphEnv
  /** The resolved configuration (timeouts, auth rules, offline, ...). */
  config: import('../config/resolve.ts').ResolvedConfig
  /** Fingerprints and recorded outputs of finished dependencies, by task id. */
  deps: ReadonlyMap<string, { fingerprint: string; outputs: Json }>
  signal: AbortSignal
  /** A line for the task's log (shown under the task, kept in --json failure details). */
  log(line: string): void
  /** Replaces the task's one-line progress display; throttled by the executor. */
  progress(text: string): void
  /** The environment variables of the run (credentials, PATH); tasks read them from here, not from `process`. */
  processEnv: Readonly<Record<string, string | undefined>>
  /** Secrets that must never appear in output (tokens); the executor redacts them. */
  secrets: string[]
  /** `--force`: a task may discard local modifications it would otherwise keep. */
  force: boolean
}

/** How a run ended, when it did not throw. `outputs` is recorded in the skip marker. */
export interface RunOutcome {
  outputs: Json
  /** A short note for the summary (e.g. "moved abc1234 → def5678"). */
  note?: string
  /** Extra fields for this task's row in `--json` (e.g. the requirement lines collect-deps skipped). */
  report?: { [k: string]: Json }
}

/** A failure the user can act on; its message is shown as is, without a stack. */
export class TaskFailure extends Error {
  constructor(message: string, readonly details: string[] = []) { super(message) }
}

/**
 * A task kind. Built-in kinds and plugins from cache.config.ts register through this one interface.
 *
 * Lifecycle in the executor: wait for deps → `discover` (cheap, no child process) → fingerprint →
 * skip when the stored fingerprint matches and `outputsStand` → otherwise remove the marker, `run`,
 * write the marker. `prune` is called for a marker whose task is no longer in the graph.
 */
export interface TaskPlugin {
  kind: string
  resource: Resource
  /** The tasks of this kind for a spec. Pure: reads only its arguments and the tasks compiled so far. */
  tasks(spec: ResolvedSpec, env: GraphEnv, compiled: readonly TaskDef[]): TaskDef[]
  /**
   * Inputs that exist only once dependencies ran (a requirements file's content hash, the
   * interpreter found). Read from files only: a no-op realize must not start a process.
   */
  discover?(task: TaskDef, ctx: TaskContext): Promise<{ [k: string]: Json | undefined }>
  /** A cheap check that the outputs recorded after the last success are still there. */
  outputsStand(task: TaskDef, recorded: Json, ctx: TaskContext): Promise<boolean>
  run(task: TaskDef, ctx: TaskContext): Promise<RunOutcome>
  /** Undo what a task that left the graph made (only what the tool created); returns a note. */
  prune?(taskId: string, recorded: Json, ctx: Omit<TaskContext, 'deps'>): Promise<string | undefined>
}
