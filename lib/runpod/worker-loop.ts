import { setTimeout as sleep } from 'node:timers/promises'
import { JobApi } from './job-api.ts'
import { jobDonePayload, type HandlerResult, type RunpodJob } from './job-payload.ts'
import type { WorkerSettings } from './worker-settings.ts'

/** Runs one job: the handler's result, which the loop posts. It never throws for a job that failed. */
export type JobHandler = (job: RunpodJob, hooks: { progress(output: unknown): void; signal: AbortSignal }) => Promise<HandlerResult>

export interface WorkerLoopOptions {
  settings: WorkerSettings
  /** Jobs at once (`--concurrency`), each taken by its own long poll. */
  concurrency: number
  handle: JobHandler
  /** Aborted on SIGTERM: no job is taken after it; the jobs in flight finish and are posted. */
  stopTaking: AbortSignal
  onLog: (line: string) => void
  userAgent: string
}

export interface WorkerLoopSummary { jobs: number; failed: number }

/** How long an empty take that came back at once waits before the next: a long poll that does not hold is not a hot loop. */
const EMPTY_TAKE_PACE_MS = 1_000
/** runpod-python's pause after a 429. */
const TOO_MANY_REQUESTS_MS = 5_000
/** The pause after a take that failed (an unreachable API, a 5xx). */
const FAILED_TAKE_MS = 1_000

/**
 * The serverless worker's loop, as runpod-python runs it: take a job (long poll), run it, post the result, take the
 * next; heartbeats every ping interval with the ids in progress. Resolves once `stopTaking` is aborted and every job
 * taken has been posted.
 */
export async function runWorkerLoop(o: WorkerLoopOptions): Promise<WorkerLoopSummary> {
  const api = new JobApi(o.settings, o.userAgent)
  const inProgress = new Set<string>()
  const summary: WorkerLoopSummary = { jobs: 0, failed: 0 }
  let lastPingProblem: string | undefined
  const ping = async () => {
    const problem = await api.ping([...inProgress])
    if (problem && problem !== lastPingProblem) o.onLog(`heartbeat failed: ${problem} (the worker goes on)`)
    lastPingProblem = problem
  }
  void ping()
  const heartbeat = o.settings.pingUrl ? setInterval(() => void ping(), o.settings.pingIntervalMs) : undefined

  const cancels = new Map<string, AbortController>()
  const runOne = async (job: RunpodJob) => {
    o.onLog(`job ${job.id}: started`)
    const started = Date.now()
    const cancel = new AbortController()
    cancels.set(job.id, cancel)
    let result: HandlerResult
    // Progress posts are not waited for while the job runs, but the result goes after them: an IN_PROGRESS that
    // arrived after it would say the job runs again.
    const progressPosts = new Set<Promise<void>>()
    const progress = (output: unknown) => {
      const posted = api.postProgress(job.id, output)
      progressPosts.add(posted)
      void posted.finally(() => progressPosts.delete(posted))
    }
    try {
      result = await o.handle(job, { progress, signal: cancel.signal })
    } catch (e) {
      result = { error: `the worker failed on this job: ${(e as Error).message}` }
    } finally {
      cancels.delete(job.id)
    }
    if (cancel.signal.aborted) {
      // As runpod-python: a job RunPod stopped gets no result.
      inProgress.delete(job.id)
      summary.jobs++
      o.onLog(`job ${job.id}: cancelled by RunPod`)
      return
    }
    const failed = typeof result.error === 'string'
    await Promise.allSettled([...progressPosts])
    const problem = await api.postDone(job.id, jobDonePayload(result))
    inProgress.delete(job.id)
    summary.jobs++
    if (failed) summary.failed++
    const took = `${((Date.now() - started) / 1000).toFixed(1)} s`
    o.onLog(problem
      ? `job ${job.id}: the result could not be posted (${problem}); RunPod will not see it`
      : `job ${job.id}: ${failed ? `failed (${String(result.error)})` : 'done'} in ${took}`)
  }

  const lane = async () => {
    while (!o.stopTaking.aborted) {
      const asked = Date.now()
      const answer = await api.take(inProgress.size > 0, o.stopTaking)
      if (answer.kind === 'jobs') {
        for (const why of answer.refused) o.onLog(`a job RunPod handed out was refused: ${why}`)
        for (const job of answer.jobs) inProgress.add(job.id)
        await Promise.all(answer.jobs.map(runOne))
        continue
      }
      const pause = answer.kind === 'none' ? EMPTY_TAKE_PACE_MS - (Date.now() - asked)
        : answer.kind === 'too-many-requests' ? TOO_MANY_REQUESTS_MS : FAILED_TAKE_MS
      if (answer.kind === 'failed') o.onLog(`taking a job failed: ${answer.message}; trying again`)
      if (pause > 0) await sleep(pause, undefined, { signal: o.stopTaking }).catch(() => undefined)
    }
  }

  // The stop channel: RunPod's per-job cancel, polled beside the takes until the loop ends.
  const lanesDone = new AbortController()
  const stopPoller = (async () => {
    const signal = AbortSignal.any([o.stopTaking, lanesDone.signal])
    while (!signal.aborted) {
      const answer = await api.stops(signal)
      if ('ids' in answer) {
        for (const id of answer.ids) cancels.get(id)?.abort()
        continue
      }
      if (answer.kind === 'unavailable') { o.onLog('no /job-take/ in RUNPOD_WEBHOOK_GET_JOB: RunPod cannot cancel a running job on this worker'); return }
      await sleep(answer.kind === 'too-many-requests' ? TOO_MANY_REQUESTS_MS : FAILED_TAKE_MS, undefined, { signal }).catch(() => undefined)
    }
  })()
  try {
    await Promise.all(Array.from({ length: o.concurrency }, lane))
  } finally {
    lanesDone.abort()
    await stopPoller
    if (heartbeat) clearInterval(heartbeat)
  }
  return summary
}
