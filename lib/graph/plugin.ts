import type { GitNode, RegistryNode, Spec } from '../spec/schema.ts'
import type { AuthRule } from '../fetch/auth-rule.ts'

/** What a task mostly waits on; each has its own concurrency limit. */
export type Resource = 'git' | 'network' | 'cpu' | 'none'

/** JSON-safe data: task inputs and recorded outputs are stored in skip markers. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined }

/** A task's inputs: plain JSON, hashed into its fingerprint. */
export type Inputs = { [k: string]: Json | undefined }

/**
 * One node of the graph, as compiled from a spec (no I/O involved in making it). `subject` is what the task works
 * on (its node, its model), so that no kind has to find it again from its id; a kind without one leaves it out.
 */
export type TaskDef<I extends Inputs = Inputs, S = undefined> = TaskShape<I> & (undefined extends S ? { subject?: S } : { subject: S })

interface TaskShape<I extends Inputs> {
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
  inputs: I
}

/** The part of a spec after refs were resolved: every repository has a commit, every registry node a version. */
export interface ResolvedSpec extends Spec {
  comfyui: Spec['comfyui'] & { commit: string }
  custom_nodes: ResolvedNode[]
}
export type ResolvedGitNode = GitNode & { commit: string }
/** `archiveUrl`: the registry's download URL, when prepare asked for it (the store did not have the archive). */
export type ResolvedRegistryNode = RegistryNode & { version: string; archiveUrl?: string }
export type ResolvedNode = ResolvedGitNode | ResolvedRegistryNode
export type SpecModel = Spec['models'][number]

/** Static facts about where a version is realized; part of what the graph is compiled from. */
export interface GraphEnv {
  home: string
  cacheRoot: string
  modelsDir: string
  installer: 'auto' | 'uv' | 'pip'
  linkMode: 'symlink' | 'hardlink' | 'copy'
}

/** The settings tasks read: the part of the resolved configuration that is not the graph's shape. */
export interface TaskSettings {
  offline: boolean
  /** The Comfy Registry API base URL, for registry nodes. */
  registryUrl: string
  installer: 'auto' | 'uv' | 'pip'
  auth: AuthRule[]
  timeouts: { compileS: number; installS: number; downloadHeadersS: number; downloadBodyS: number }
  /** Index connect timeout and retries for pip and uv (config `index`). */
  index?: { timeoutS: number; retries: number }
  /** Relative paths in the spec (find_links) are relative to it. */
  versionsDir: string
}

/** A finished dependency, as the tasks after it see it. */
export interface DoneDep { kind: string; fingerprint: string; outputs: unknown }

/** Handed to every running task. Tasks report through `log`/`progress`, never to stdout. */
export interface TaskContext {
  spec: ResolvedSpec
  env: GraphEnv
  config: TaskSettings
  /** Fingerprints and outputs of finished dependencies, by task id; read them with {@link outputsOf}. */
  deps: ReadonlyMap<string, DoneDep>
  signal: AbortSignal
  /** A line for the task's log (shown under the task, kept in --json failure details). */
  log(line: string): void
  /** Replaces the task's one-line progress display; throttled by the executor. */
  progress(text: string): void
  /** The environment variables of the run (credentials, PATH); tasks and their children get them from here, not from `process`. */
  processEnv: Readonly<Record<string, string | undefined>>
  /** Secrets that must never appear in output (tokens); the executor redacts them. */
  secrets: string[]
  /** `--force`: a task may discard local modifications it would otherwise keep. */
  force: boolean
  /** `realize --repair`: a task runs because `verify` found its outputs drifted, so it restores them even where they look in place. */
  repair?: boolean
}

/** A requirement line collect-deps left out, and why (a row of its --json report). */
export interface SkippedRequirement { source: string; line: string; reason: string }

/** How a run ended, when it did not throw. `outputs` is recorded in the skip marker. */
export interface RunOutcome<O = Json> {
  outputs: O
  /** A short note for the summary (e.g. "moved abc1234 → def5678"). */
  note?: string
  /** The requirement lines collect-deps left out, for its row in `--json`. */
  skipped?: SkippedRequirement[]
}

/** One finding of a deep check (`verify`): the contract's check row. */
export interface DeepCheck {
  /** `clone-core`, `clone-node:<name>`, `model:<path>`, `python:<package>`, ... */
  id: string
  status: 'ok' | 'drift' | 'missing' | 'extra'
  detail?: string
}

/** How deep `verify` looks: `hashes` reads every model blob again. */
export interface VerifyOptions { hashes: boolean }

/** A failure the user can act on; its message is shown as is, without a stack. */
export class TaskFailure extends Error {
  constructor(message: string, readonly details: string[] = []) { super(message) }
}

/**
 * A task kind. Built-in kinds and plugins from cache.config.ts register through this one interface.
 * `I` are the inputs of its tasks, `O` what a run records, `S` what each task works on.
 *
 * Lifecycle (lib/engine/freshness.ts decides, for realize and plan alike): wait for deps → `discover`
 * (cheap, no child process) → fingerprint → skip when the stored fingerprint matches, the recorded
 * outputs parse and `outputsStand` → otherwise remove the marker, `run`, write the marker. `prune` is
 * called for a marker whose task is no longer in the graph.
 */
export interface TaskPlugin<I extends Inputs = Inputs, O = Json, S = undefined> {
  kind: string
  resource: Resource
  /** The tasks of this kind for a spec. Pure: reads only its arguments and the tasks compiled so far. */
  tasks(spec: ResolvedSpec, env: GraphEnv, compiled: readonly TaskDef[]): TaskDef<I, S>[]
  /**
   * Inputs that exist only once dependencies ran (a requirements file's content hash, the
   * interpreter found). Read from files only: a no-op realize must not start a process.
   */
  discover?(task: TaskDef<I, S>, ctx: TaskContext): Promise<Inputs>
  /**
   * Reads what a marker recorded; undefined when it is not this kind's shape (a marker of an older tool), and
   * the task runs again. The one place a kind's recorded outputs are parsed. Default: taken as they are.
   */
  parseOutputs?(recorded: Json): O | undefined
  /**
   * Early cutoff: what of a run's outputs the tasks after it depend on (a lock's content hash, not the path it was
   * written to). Declared, dependents record the hash of this rather than the task's fingerprint, so a run that
   * makes the same again leaves them skipped. Only for outputs that say everything a dependent gets from the run.
   */
  outputHash?(outputs: O): Json
  /** A cheap check that the outputs recorded after the last success are still there (no process, no hashing). */
  outputsStand(task: TaskDef<I, S>, outputs: O, ctx: TaskContext): Promise<boolean>
  /** A deep check of the outputs for `verify` (read-only, no network): what drifted from what the task made. */
  verify?(task: TaskDef<I, S>, outputs: O, ctx: TaskContext, opts: VerifyOptions): Promise<DeepCheck[]>
  run(task: TaskDef<I, S>, ctx: TaskContext): Promise<RunOutcome<O>>
  /** Undo what a task that left the graph made (only what the tool created); returns a note. */
  prune?(stale: { id: string; outputs: O }, ctx: Omit<TaskContext, 'deps'>): Promise<string | undefined>
}

/** A kind of any inputs and outputs, as the graph and the executor hold them side by side. */
export type AnyTaskPlugin = TaskPlugin<any, any, any>

/** Declares a kind with its types inferred (an identity function, as citty's defineCommand). */
export const defineKind = <I extends Inputs, O, S>(plugin: TaskPlugin<I, O, S>): TaskPlugin<I, O, S> => plugin

/** The outputs a finished dependency of `kind` recorded, typed as that kind records them. */
export function outputsOf<O>(ctx: Pick<TaskContext, 'deps'>, kind: TaskPlugin<any, O, any>, id: string): O {
  const dep = ctx.deps.get(id)
  if (!dep || dep.kind !== kind.kind) throw new TaskFailure(`internal error: ${id} is not a finished ${kind.kind} dependency`)
  return dep.outputs as O
}

/** A plain object, for the kinds' output parsers. */
export const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)
