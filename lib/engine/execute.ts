import type { Graph } from '../graph/compile.ts'
import { TaskFailure, type AnyTaskPlugin, type Json, type Resource, type RunOutcome, type TaskDef } from '../graph/plugin.ts'
import { redactSecrets } from '../util/redact.ts'
import { decideFreshness, type DepState } from './freshness.ts'
import { depIdentity } from '../graph/fingerprint.ts'
import type { MarkerStore } from './markers.ts'
import type { RunResult, TaskResult, TaskStatus } from './results.ts'
import { taskContext, type ContextBase } from './task-context.ts'
import { Limit } from '../util/limit.ts'
import { Listr, RunDisplay, listrOptions, type RendererChoice, type TaskView, type Wrapper } from './display.ts'

export type { RendererChoice } from './display.ts'

export interface ExecuteOptions {
  graph: Graph
  plugins: ReadonlyMap<string, AnyTaskPlugin>
  markers: MarkerStore
  /** Shared by every task's context. */
  base: ContextBase
  limits: Record<Exclude<Resource, 'none'>, number> & { total: number }
  signal: AbortSignal
  renderer: RendererChoice
  /** Where the renderer writes (stderr: stdout is kept for --json). */
  stream: NodeJS.WriteStream
  /** Called as each task ends (watch mode and tests listen). */
  onTask?(result: TaskResult): void
}

/** A finished task: its result, and for its dependents what it is now. */
interface Outcome { result: TaskResult; dep?: DepState }

const LOG_TAIL = 20

/**
 * Runs the graph: every task waits for its dependencies, then is skipped when decideFreshness says it is up to
 * date, or runs under the per-resource limits. A failure blocks what depends on it while independent tasks go on.
 * Never throws for a task's failure; the result says what happened.
 */
export async function execute(opts: ExecuteOptions): Promise<RunResult> {
  const { graph, plugins, markers, signal } = opts
  // Slots are taken only once a task's dependencies are done, so a waiting task never holds one (the listr2
  // deadlock in reference/libs.md).
  const total = new Limit(opts.limits.total)
  const perResource = { git: new Limit(opts.limits.git), network: new Limit(opts.limits.network), cpu: new Limit(opts.limits.cpu) }
  const outcomes = new Map<string, Promise<Outcome>>()
  const settle = new Map<string, (o: Outcome) => void>()
  for (const id of graph.order) outcomes.set(id, new Promise<Outcome>(resolve => settle.set(id, resolve)))
  const secrets = opts.base.secrets

  const runOne = async (task: TaskDef, view: TaskView): Promise<Outcome> => {
    const deps = await Promise.all(task.deps.map(d => outcomes.get(d)!))
    // Time is counted from here: waiting for dependencies is not the task's own.
    const started = Date.now()
    const result = (status: TaskStatus, extra: Partial<TaskResult> = {}): TaskResult =>
      ({ id: task.id, kind: task.kind, status, ...(status === 'ran' || status === 'failed' ? { ms: Date.now() - started } : {}), ...extra })
    const cancelled = (): Outcome => ({ result: result('cancelled', { reason: 'interrupted' }) })
    const failed = (e: unknown, logTail: string[]): Outcome => {
      const message = redactSecrets(e instanceof Error ? e.message : String(e), secrets)
      const details = e instanceof TaskFailure ? e.details.map(d => redactSecrets(d, secrets)) : e instanceof Error ? [redactSecrets(e.stack ?? '', secrets)] : []
      return { result: result('failed', { error: message, details: details.length ? details : logTail }) }
    }
    if (signal.aborted) return cancelled()
    const bad = deps.find(d => !d.dep)
    if (bad) {
      const status = bad.result.status === 'cancelled' ? 'cancelled' : 'blocked'
      return { result: result(status, { reason: `${bad.result.id} ${bad.result.status === 'failed' ? 'failed' : `was ${bad.result.status}`}` }) }
    }
    const plugin = plugins.get(task.kind)!
    const logTail: string[] = []
    const depStates = new Map(task.deps.map((d, i) => [d, deps[i]!.dep!]))
    const ctx = taskContext(opts.base, depStates, signal, {
      log: line => {
        const clean = redactSecrets(line, secrets)
        logTail.push(clean)
        if (logTail.length > LOG_TAIL) logTail.shift()
        view.log(clean)
      },
      progress: text => view.progress(redactSecrets(text, secrets)),
    })
    const done = (fingerprint: string, outputs: unknown): DepState => ({ state: 'done', kind: task.kind, fingerprint, identity: depIdentity(plugin, fingerprint, outputs), outputs })
    try {
      const fresh = await decideFreshness({ task, plugin, deps: depStates, marker: await markers.read(task.id), ctx })
      if (fresh.decision === 'fail') return signal.aborted ? cancelled() : failed(fresh.error, logTail)
      if (fresh.decision === 'skip') return { result: result('skipped', { reason: fresh.reason }), dep: done(fresh.fingerprint, fresh.outputs) }
      // Every dependency is done here, so the fingerprint is known.
      const { fingerprint, record } = fresh as Required<typeof fresh>
      const releaseTotal = await total.acquire(signal)
      const resource = plugin.resource === 'none' ? undefined : perResource[plugin.resource]
      const release = resource ? await resource.acquire(signal).catch(e => { releaseTotal(); throw e }) : () => {}
      view.running()
      try {
        // Invalidate first: a run that dies half-way must not look finished next time.
        await markers.remove(task.id)
        const outcome = await plugin.run(task, ctx) as RunOutcome<unknown> | undefined
        signal.throwIfAborted()
        if (!outcome || typeof outcome !== 'object' || !('outputs' in outcome)) throw new TaskFailure(`the "${task.kind}" plugin's run() returned no { outputs }`)
        await markers.write({ id: task.id, fingerprint, record, outputs: outcome.outputs as Json, ...(plugin.outputHash ? { output_hash: depIdentity(plugin, fingerprint, outcome.outputs) } : {}) })
        const extra: Partial<TaskResult> = { reason: fresh.reason }
        if (outcome.note) extra.note = redactSecrets(outcome.note, secrets)
        if (outcome.skipped) extra.skipped = outcome.skipped.map(s => ({ source: redactSecrets(s.source, secrets), line: redactSecrets(s.line, secrets), reason: redactSecrets(s.reason, secrets) }))
        return { result: result('ran', extra), dep: done(fingerprint, outcome.outputs) }
      } finally {
        release()
        releaseTotal()
      }
    } catch (e) {
      return signal.aborted ? cancelled() : failed(e, logTail)
    }
  }

  const display = new RunDisplay(opts.renderer)
  const list = new Listr(
    graph.order.map(id => {
      const task = graph.tasks.get(id)!
      return {
        title: display.initialTitle(task.id),
        task: async (_: unknown, wrapper: Wrapper) => {
          const view = display.view(task.id, wrapper)
          const outcome = await runOne(task, view)
          settle.get(id)!(outcome)
          opts.onTask?.(outcome.result)
          const failure = view.finish(outcome.result)
          if (failure) throw failure
        },
      }
    }),
    listrOptions(opts.renderer, opts.stream),
  )
  try { await list.run() } finally { display.stop() }
  const tasks: TaskResult[] = []
  for (const id of graph.order) tasks.push((await outcomes.get(id)!).result)
  const interrupted = signal.aborted || tasks.some(r => r.status === 'cancelled')
  return { ok: tasks.every(r => r.status === 'ran' || r.status === 'skipped'), cancelled: interrupted, tasks }
}
