import type { ResolvedConfig } from '../config/resolve.ts'
import { claimHome, markComplete } from '../engine/home.ts'
import { recordLastRun } from '../engine/last-run.ts'
import { MarkerStore, type Marker } from '../engine/markers.ts'
import type { ExecuteOptions, RendererChoice } from '../engine/execute.ts'
import type { RunResult } from '../engine/results.ts'
import type { TaskContext } from '../graph/plugin.ts'
import { cacheLayout } from '../layout/cache.ts'
import { err, ok, type Result } from '../result.ts'
import { specFile, type Prepared } from './prepare.ts'
import { registerHome } from '../engine/home-registry.ts'
import { contextBase, plan } from './plan.ts'
import { acquireLock, type Release } from '../util/lock.ts'

export interface RealizeOptions {
  prepared: Prepared
  config: ResolvedConfig
  force: boolean
  /** Take over a non-empty folder the tool did not create when it holds a checkout of the spec's core. */
  adopt?: boolean
  /** Run again every task whose outputs `verify` finds drifted, even when its fingerprint matches. */
  repair?: boolean
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
export async function realize(o: RealizeOptions): Promise<Result<RunResult, string>> {
  // Before the lock: a gc running now takes this home's lock next, and keeps what its spec names.
  await registerHome(o.config.cacheRoot, o.prepared.home, o.prepared.spec.id, specFile(o.config, o.prepared.spec.id))
  let release: Release
  try {
    release = await acquireLock(cacheLayout(o.config.cacheRoot).homeLock(o.prepared.home), {
      signal: o.signal, waitingFor: `another realize of ${o.prepared.home}`, onWait: line => o.onNote?.(line),
    })
  } catch (e) {
    if (o.signal.aborted) return ok({ ok: false, cancelled: true, tasks: [] })
    throw e
  }
  try {
    const run = await realizeLocked(o)
    if (run.ok && !run.value.cancelled) await recordLastRun(o.prepared.home, 'realize', { ok: run.value.ok })
    return run
  } finally { await release() }
}

async function realizeLocked(o: RealizeOptions): Promise<Result<RunResult, string>> {
  const { prepared, config } = o
  const claimed = await claimHome(prepared.home, prepared.spec.id, o.adopt ? { coreRepo: prepared.spec.comfyui.repo } : undefined)
  if (!claimed.ok) return err(claimed.error)
  if (claimed.value.adopted) {
    const kept = claimed.value.adopted
    o.onNote?.(`adopted ${prepared.home}: the spec's core, nodes and models are brought to the spec; the ${kept.length} entries that were there stay unless the spec names them (${kept.slice(0, 8).join(', ')}${kept.length > 8 ? ', ...' : ''})`)
  }
  const markers = MarkerStore.forHome(prepared.home)
  const base = contextBase(prepared, { config, secrets: o.secrets, force: o.force, processEnv: o.processEnv })
  const stored = await prune(prepared, markers, { ...base, signal: o.signal, log: line => o.onNote?.(line), progress: () => {} }, o.onNote)
  if (o.repair) {
    // A drifted task's marker goes: the task then runs as if new, and its dependents are decided as usual.
    const { drifted, verifyVersion } = await import('./verify.ts')
    const rows = await verifyVersion(prepared, base, o.signal, { hashes: false }, stored)
    for (const r of rows.filter(r => r.status !== 'ok')) o.onNote?.(`repair: ${r.id} ${r.status}${r.detail ? ` (${r.detail})` : ''}: running ${r.task} again`)
    for (const id of drifted(rows)) { await markers.remove(id); stored.delete(id) }
    base.repair = true
  }
  // The common case, nothing to do, is decided by the same rule the executor follows (decideFreshness), without
  // loading the executor and its renderer (a no-op realize should cost little more than starting).
  const rows = await plan(prepared, base, o.signal, stored)
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
    const outputs = plugin?.parseOutputs ? plugin.parseOutputs(marker.outputs) : marker.outputs
    const note = plugin?.prune && outputs !== undefined ? await plugin.prune({ id: marker.id, outputs }, ctx) : undefined
    if (note) onNote?.(note)
    await markers.remove(marker.id)
  }
  return kept
}
