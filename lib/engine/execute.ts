import { createRequire } from 'node:module'
import type * as ListrModule from 'listr2'
import type { Graph } from '../graph/compile.ts'
import { fingerprintOf, fingerprintRecord } from '../graph/fingerprint.ts'
import { TaskFailure, type Json, type Resource, type RunOutcome, type TaskContext, type TaskDef, type TaskPlugin } from '../graph/plugin.ts'
import { redactSecrets } from '../util/redact.ts'
import type { MarkerStore } from './markers.ts'
import { Semaphore } from './semaphore.ts'

export type TaskStatus = 'ran' | 'skipped' | 'failed' | 'blocked' | 'cancelled'

/** One row of `realize --json` (design.md section 4). */
export interface TaskReport {
  id: string
  kind: string
  status: TaskStatus
  ms?: number
  reason?: string
  note?: string
  error?: string
  details?: string[]
  /** Kind-specific facts for --json (what collect-deps skipped, say). */
  [extra: string]: unknown
}

export interface RunReport { ok: boolean; cancelled: boolean; tasks: TaskReport[] }

export type RendererChoice = 'default' | 'simple' | 'silent'

export interface ExecuteOptions {
  graph: Graph
  plugins: ReadonlyMap<string, TaskPlugin>
  markers: MarkerStore
  /** Shared by every task's context. */
  base: Omit<TaskContext, 'deps' | 'log' | 'progress' | 'signal'>
  limits: Record<Exclude<Resource, 'none'>, number> & { total: number }
  signal: AbortSignal
  renderer: RendererChoice
  /** Where the renderer writes (stderr: stdout is kept for --json). */
  stream: NodeJS.WriteStream
  /** Called as each task ends (watch mode and tests listen). */
  onTask?(report: TaskReport): void
}

/** The part of listr2's task wrapper the executor uses. */
interface Wrapper { output: string; title: string; skip(message?: string): void }

interface Outcome { report: TaskReport; fingerprint?: string; outputs?: Json }

// listr2 through its CommonJS build: under tsx every ES module costs a round trip to tsx's loader thread, and
// this one require saves a no-op realize 10-25 ms (docs/benchmarks.md). Same package, same version.
const { Listr, ListrLogger, ProcessOutput, PRESET_TIMER } = createRequire(import.meta.url)('listr2') as typeof ListrModule

// Both of listr2's streams go to one stream (stderr), so stdout carries only the --json document.
const logger = (stream: NodeJS.WriteStream) =>
  new ListrLogger({ useIcons: true, toStderr: [], processOutput: new ProcessOutput(stream, stream) })

const LOG_TAIL = 20
const PROGRESS_INTERVAL_MS = 200

/**
 * Runs the graph: every task waits for its dependencies, then is skipped when its fingerprint and
 * outputs still stand, or runs under the per-resource limits. A failure blocks what depends on it
 * while independent tasks go on. Never throws for a task's failure; the report says what happened.
 */
export async function execute(opts: ExecuteOptions): Promise<RunReport> {
  const { graph, plugins, markers, signal } = opts
  const total = new Semaphore(Number.isFinite(opts.limits.total) ? opts.limits.total : 1_000_000)
  const perResource = {
    git: new Semaphore(opts.limits.git), network: new Semaphore(opts.limits.network), cpu: new Semaphore(opts.limits.cpu),
  }
  const outcomes = new Map<string, Promise<Outcome>>()
  const settle = new Map<string, (o: Outcome) => void>()
  for (const id of graph.order) outcomes.set(id, new Promise<Outcome>(resolve => settle.set(id, resolve)))

  const runOne = async (task: TaskDef, wrapper: Wrapper | undefined): Promise<Outcome> => {
    const deps = await Promise.all(task.deps.map(d => outcomes.get(d)!))
    // Time is counted from here: waiting for dependencies is not the task's own.
    const started = Date.now()
    const report = (status: TaskStatus, extra: Partial<TaskReport> = {}): TaskReport =>
      ({ id: task.id, kind: task.kind, status, ...(status === 'ran' || status === 'failed' ? { ms: Date.now() - started } : {}), ...extra })
    if (signal.aborted) return { report: report('cancelled', { reason: 'interrupted' }) }
    const bad = deps.find(d => d.report.status !== 'ran' && d.report.status !== 'skipped')
    if (bad) {
      const status = bad.report.status === 'cancelled' ? 'cancelled' : 'blocked'
      return { report: report(status, { reason: `${bad.report.id} ${bad.report.status === 'failed' ? 'failed' : `was ${bad.report.status}`}` }) }
    }
    const plugin = plugins.get(task.kind)!
    const logTail: string[] = []
    let lastProgress = 0
    const secrets = opts.base.secrets
    const ctx: TaskContext = {
      ...opts.base,
      deps: new Map(deps.map(d => [d.report.id, { fingerprint: d.fingerprint!, outputs: d.outputs ?? null }])),
      signal,
      log: line => {
        const clean = redactSecrets(line, secrets)
        logTail.push(clean)
        if (logTail.length > LOG_TAIL) logTail.shift()
        if (wrapper) wrapper.output = clean
      },
      progress: text => {
        const now = Date.now()
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return
        lastProgress = now
        if (wrapper) wrapper.output = redactSecrets(text, secrets)
      },
    }
    try {
      const discovered = plugin.discover ? await plugin.discover(task, ctx) : {}
      const record = fingerprintRecord(task, new Map(deps.map(d => [d.report.id, d.fingerprint!])), discovered)
      const fingerprint = fingerprintOf(record)
      const marker = await markers.read(task.id)
      if (marker && marker.fingerprint === fingerprint && await plugin.outputsStand(task, marker.outputs, ctx)) {
        return { report: report('skipped', { reason: 'up to date' }), fingerprint, outputs: marker.outputs }
      }
      const releaseTotal = await total.acquire(signal)
      const resource = plugin.resource === 'none' ? undefined : perResource[plugin.resource]
      const release = resource ? await resource.acquire(signal).catch(e => { releaseTotal(); throw e }) : () => {}
      try {
        // Invalidate first: a run that dies half-way must not look finished next time.
        await markers.remove(task.id)
        const outcome = await plugin.run(task, ctx) as RunOutcome | undefined
        signal.throwIfAborted()
        if (!outcome || typeof outcome !== 'object' || !('outputs' in outcome)) throw new TaskFailure(`the "${task.kind}" plugin's run() returned no { outputs }`)
        await markers.write({ id: task.id, fingerprint, record, outputs: outcome.outputs })
        const extra = { ...(outcome.note ? { note: redactSecrets(outcome.note, secrets) } : {}), ...(outcome.report ? JSON.parse(redactSecrets(JSON.stringify(outcome.report), secrets)) as object : {}) }
        return { report: report('ran', extra), fingerprint, outputs: outcome.outputs }
      } finally {
        release()
        releaseTotal()
      }
    } catch (e) {
      if (signal.aborted) return { report: report('cancelled', { reason: 'interrupted' }) }
      const message = redactSecrets(e instanceof Error ? e.message : String(e), secrets)
      const details = e instanceof TaskFailure ? e.details.map(d => redactSecrets(d, secrets)) : e instanceof Error && !(e instanceof TaskFailure) ? [redactSecrets(e.stack ?? '', secrets)] : []
      return { report: report('failed', { error: message, details: [...details, ...(details.length ? [] : logTail)] }) }
    }
  }

  const list = new Listr(
    graph.order.map(id => {
      const task = graph.tasks.get(id)!
      return {
        title: task.id,
        task: async (_: unknown, wrapper: Wrapper) => {
          const outcome = await runOne(task, wrapper)
          settle.get(id)!(outcome)
          opts.onTask?.(outcome.report)
          const r = outcome.report
          if (r.status === 'skipped') wrapper.skip(`${task.id}: ${r.reason}`)
          else if (r.status === 'blocked' || r.status === 'cancelled') wrapper.skip(`${task.id}: ${r.status} (${r.reason})`)
          else if (r.status === 'failed') throw new Error(`${task.id}: ${r.error}`)
          else if (r.note) wrapper.title = `${task.id}: ${r.note}`
        },
      }
    }),
    {
      concurrent: true,
      exitOnError: false,
      collectErrors: 'minimal',
      registerSignalListeners: false,
      renderer: opts.renderer,
      fallbackRenderer: opts.renderer === 'silent' ? 'silent' : 'simple',
      rendererOptions: { logger: logger(opts.stream), timer: PRESET_TIMER, collapseErrors: false, showErrorMessage: true, collapseSkips: false },
      fallbackRendererOptions: { logger: logger(opts.stream), timer: PRESET_TIMER },
      forceTTY: opts.renderer === 'default',
    },
  )
  await list.run()
  const reports: TaskReport[] = []
  for (const id of graph.order) reports.push((await outcomes.get(id)!).report)
  const cancelled = signal.aborted || reports.some(r => r.status === 'cancelled')
  return { ok: reports.every(r => r.status === 'ran' || r.status === 'skipped'), cancelled, tasks: reports }
}
