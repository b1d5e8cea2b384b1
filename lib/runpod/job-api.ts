import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { redact } from '../util/redact.ts'
import { checkJob, type JobDonePayload, type RunpodJob } from './job-payload.ts'
import { withQuery, type WorkerSettings } from './worker-settings.ts'

/** One answer to a job take. */
export type TakeAnswer =
  | { kind: 'jobs'; jobs: RunpodJob[]; refused: string[] }
  | { kind: 'none' }
  | { kind: 'too-many-requests' }
  | { kind: 'failed'; message: string }

/** How long one take may wait for RunPod's long poll, as runpod-python bounds it. */
const TAKE_TIMEOUT_MS = 90_000
/** Attempts at posting a result: runpod-python's FibonacciRetry(attempts=3). */
const POST_ATTEMPTS = 3

/** RunPod's job API from a worker's side: take, post results and progress, ping (reference/runpod-worker.md §4-7). */
export class JobApi {
  readonly #headers: Record<string, string>

  constructor(readonly settings: WorkerSettings, userAgent: string) {
    this.#headers = { 'user-agent': userAgent, ...(settings.apiKey ? { authorization: settings.apiKey } : {}) }
  }

  /** One long poll for a job; RunPod answers 204 (or 400, with FlashBoot) when there is none. */
  async take(jobInProgress: boolean, signal: AbortSignal): Promise<TakeAnswer> {
    const url = withQuery(this.settings.takeUrl, { job_in_progress: jobInProgress ? '1' : '0' })
    let res
    try {
      res = await request(url, { headers: { ...this.#headers, accept: 'application/json' }, signal: AbortSignal.any([signal, AbortSignal.timeout(TAKE_TIMEOUT_MS)]) })
    } catch (e) {
      if (signal.aborted) return { kind: 'none' }
      return { kind: 'failed', message: describe(e) }
    }
    const text = await res.body.text()
    if (res.statusCode === 204 || res.statusCode === 400) return { kind: 'none' }
    if (res.statusCode === 429) return { kind: 'too-many-requests' }
    if (res.statusCode < 200 || res.statusCode >= 300) return { kind: 'failed', message: `HTTP ${res.statusCode} ${text.slice(0, 200)}`.trim() }
    const type = String(res.headers['content-type'] ?? '')
    if (!type.includes('application/json') || !text.trim()) return { kind: 'none' }
    let body: unknown
    try { body = JSON.parse(text) } catch { return { kind: 'none' } }
    const jobs: RunpodJob[] = []
    const refused: string[] = []
    for (const entry of Array.isArray(body) ? body : [body]) {
      const job = checkJob(entry)
      if (typeof job === 'string') refused.push(job)
      else jobs.push(job)
    }
    return jobs.length || refused.length ? { kind: 'jobs', jobs, refused } : { kind: 'none' }
  }

  /**
   * One long poll of the stop channel (the take URL with `/job-stop/`): the ids RunPod wants cancelled, `[]` when
   * none, undefined when the channel cannot be used (no `/job-take/` in the take URL) or failed.
   */
  async stops(signal: AbortSignal): Promise<{ ids: string[] } | { kind: 'unavailable' | 'too-many-requests' | 'failed' }> {
    if (!this.settings.takeUrl.includes('/job-take/')) return { kind: 'unavailable' }
    try {
      const res = await request(this.settings.takeUrl.replace('/job-take/', '/job-stop/'), {
        headers: { ...this.#headers, accept: 'application/json' }, signal: AbortSignal.any([signal, AbortSignal.timeout(TAKE_TIMEOUT_MS)]),
      })
      const text = await res.body.text()
      if (res.statusCode === 204) return { ids: [] }
      if (res.statusCode === 429) return { kind: 'too-many-requests' }
      if (res.statusCode >= 300) return { kind: 'failed' }
      const body = JSON.parse(text) as { jobsToStop?: unknown }
      return { ids: Array.isArray(body.jobsToStop) ? body.jobsToStop.filter((id): id is string => typeof id === 'string') : [] }
    } catch {
      return { kind: 'failed' }
    }
  }

  /** Posts a job's result to job-done; retried on 5xx and network errors. Undefined when it got through. */
  postDone(jobId: string, payload: JobDonePayload): Promise<string | undefined> {
    return this.#post(jobId, payload, POST_ATTEMPTS)
  }

  /** runpod-python's `progress_update`: `{"status": "IN_PROGRESS", "output"}` to job-done, fire and forget. */
  async postProgress(jobId: string, output: unknown): Promise<void> {
    await this.#post(jobId, { status: 'IN_PROGRESS', output }, 1)
  }

  /** The heartbeat: the ping URL with the ids of the jobs in progress. */
  async ping(jobIds: string[]): Promise<string | undefined> {
    if (!this.settings.pingUrl) return undefined
    const query: Record<string, string> = jobIds.length ? { job_id: jobIds.join(',') } : {}
    try {
      const res = await request(withQuery(this.settings.pingUrl, { ...query, runpod_version: RUNPOD_VERSION }), {
        headers: this.#headers, signal: AbortSignal.timeout(2 * this.settings.pingIntervalMs),
      })
      await res.body.dump()
      return res.statusCode < 400 ? undefined : `HTTP ${res.statusCode}`
    } catch (e) {
      return describe(e)
    }
  }

  async #post(jobId: string, body: unknown, attempts: number): Promise<string | undefined> {
    const url = withQuery(this.settings.doneTemplate.replaceAll('$ID', jobId), { isStream: 'false' })
    let problem = ''
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        // runpod-python's headers, the odd content type included: RunPod's side is built for them.
        const res = await request(url, {
          method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(600_000),
          headers: { ...this.#headers, 'content-type': 'application/x-www-form-urlencoded', charset: 'utf-8', 'x-request-id': jobId },
        })
        await res.body.dump()
        if (res.statusCode < 400) return undefined
        problem = `HTTP ${res.statusCode}`
        if (res.statusCode < 500) break
      } catch (e) {
        problem = describe(e)
      }
      if (attempt < attempts) await sleep(FIBONACCI_MS[attempt - 1] ?? 2_000)
    }
    return problem
  }
}

/** What the worker reports as `runpod_version`: the protocol version it follows (runpod-python's). */
export const RUNPOD_VERSION = '1.12.0'

const FIBONACCI_MS = [1_000, 1_000, 2_000]

function describe(e: unknown): string {
  const error = e as { name?: string; code?: string; message?: string; cause?: { code?: string } }
  if (error.name === 'TimeoutError') return 'no answer in time'
  return redact(error.cause?.code ?? error.code ?? error.message ?? String(e))
}
