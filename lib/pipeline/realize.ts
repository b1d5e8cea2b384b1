import { join, resolve } from 'node:path'
import type { ResolvedConfig } from '../config/resolve.ts'
import { claimHome, markComplete } from '../engine/home.ts'
import { MarkerStore, type Marker } from '../engine/markers.ts'
import type { ExecuteOptions, RendererChoice, RunReport } from '../engine/execute.ts'
import type { TaskContext } from '../graph/plugin.ts'
import { err, ok, type Result } from '../result.ts'
import type { Prepared } from './prepare.ts'
import { plan } from './plan.ts'
import { sha256 } from '../util/hash.ts'
import { acquireLock, type Release } from '../util/lock.ts'

export interface RealizeOptions {
  prepared: Prepared
  config: ResolvedConfig
  force: boolean
  secrets: string[]
  processEnv: Readonly<Record<string, string | undefined>>
  signal: AbortSignal
  renderer: RendererChoice
  stream: NodeJS.WriteStream
  onTask?: ExecuteOptions['onTask']
  /** Lines about what was pruned (nodes and tasks that left the spec). */
  onNote?(line: string): void
}

/**
 * Claims the home, prunes what left the spec, and runs the graph, holding the home's lock: a second realize of
 * the same home (another terminal, a watch, a pod sharing the volume) waits for the first, then finds it done.
 */
export async function realize(o: RealizeOptions): Promise<Result<RunReport, string>> {
  let release: Release
  try {
    release = await acquireLock(homeLockPath(o.config.cacheRoot, o.prepared.home), {
      signal: o.signal, waitingFor: `another realize of ${o.prepared.home}`, onWait: line => o.onNote?.(line),
    })
  } catch (e) {
    if (o.signal.aborted) return ok({ ok: false, cancelled: true, tasks: [] })
    throw e
  }
  try { return await realizeLocked(o) } finally { await release() }
}

/** In the cache, not the home: a home the tool has not claimed yet must stay as the user left it. */
const homeLockPath = (cacheRoot: string, home: string): string =>
  join(cacheRoot, 'locks', `home-${sha256(resolve(home)).slice(0, 16)}.lock`)

async function realizeLocked(o: RealizeOptions): Promise<Result<RunReport, string>> {
  const { prepared, config } = o
  const claimed = await claimHome(prepared.home, prepared.spec.id)
  if (!claimed.ok) return err(claimed.error)
  const markers = MarkerStore.forHome(prepared.home)
  const base: Omit<TaskContext, 'deps' | 'log' | 'progress' | 'signal'> = {
    spec: prepared.spec, env: prepared.env, config, secrets: o.secrets, force: o.force, processEnv: o.processEnv,
  }
  const stored = await prune(prepared, markers, { ...base, signal: o.signal, log: line => o.onNote?.(line), progress: () => {} }, o.onNote)
  // The common case, nothing to do, is decided by the same checks the executor makes, without
  // loading the executor and its renderer (a no-op realize should cost little more than starting).
  const rows = await plan(prepared, config, o.signal, o.processEnv, stored)
  if (rows.every(r => r.status === 'skip')) {
    const tasks = rows.map(r => ({ id: r.id, kind: r.kind, status: 'skipped' as const, reason: r.reason }))
    for (const t of tasks) o.onTask?.(t)
    await markComplete(prepared.home, claimed.value.owner, true)
    return ok({ ok: true, cancelled: false, tasks })
  }
  // Not complete until this run says so: a run killed midway leaves the home marked incomplete.
  const owner = await markComplete(prepared.home, claimed.value.owner, false)
  const { execute } = await import('../engine/execute.ts')
  const report = await execute({
    graph: prepared.graph, plugins: prepared.plugins, markers, base,
    limits: { ...config.concurrency }, signal: o.signal, renderer: o.renderer, stream: o.stream, onTask: o.onTask,
  })
  if (report.ok) await markComplete(prepared.home, owner, true)
  return ok(report)
}

/**
 * Undoes, through its kind, what a task that is no longer in the graph made; then forgets it.
 * Returns the markers of the tasks that are still in the graph.
 */
async function prune(prepared: Prepared, markers: MarkerStore, ctx: Omit<TaskContext, 'deps'>, onNote?: (line: string) => void): Promise<Map<string, Marker>> {
  const kept = new Map<string, Marker>()
  for (const marker of await markers.all()) {
    if (prepared.graph.tasks.has(marker.id)) { kept.set(marker.id, marker); continue }
    const plugin = prepared.plugins.get(marker.record.kind)
    const note = plugin?.prune ? await plugin.prune(marker.id, marker.outputs, ctx) : undefined
    if (note) onNote?.(note)
    await markers.remove(marker.id)
  }
  return kept
}
