import { randomUUID } from 'node:crypto'
import { err, ok, type Result } from '../result.ts'

/** What a RunPod serverless worker is told through its environment (reference/runpod-worker.md §2-3). */
export interface WorkerSettings {
  /** RUNPOD_POD_ID, or a random id as runpod-python makes one. */
  workerId: string
  /** RUNPOD_WEBHOOK_GET_JOB with `$ID` replaced by the worker id. */
  takeUrl: string
  /** RUNPOD_WEBHOOK_POST_OUTPUT with `$RUNPOD_POD_ID` replaced; `$ID` is the job's id, per job. */
  doneTemplate: string
  /** RUNPOD_WEBHOOK_PING with `$RUNPOD_POD_ID` replaced; undefined when pings are off (as runpod-python decides). */
  pingUrl?: string
  /** RUNPOD_PING_INTERVAL, milliseconds (default 10 000), used in whole seconds as runpod-python does. */
  pingIntervalMs: number
  /** RUNPOD_AI_API_KEY, sent verbatim as `Authorization`. */
  apiKey?: string
}

/** Undefined without RUNPOD_WEBHOOK_GET_JOB: the worker then runs locally (`--local-api`, `--test-input`). */
export function workerSettingsOf(env: Record<string, string | undefined>): Result<WorkerSettings | undefined, string> {
  const take = env.RUNPOD_WEBHOOK_GET_JOB
  if (!take) return ok(undefined)
  const done = env.RUNPOD_WEBHOOK_POST_OUTPUT
  if (!done) return err('RUNPOD_WEBHOOK_GET_JOB is set but RUNPOD_WEBHOOK_POST_OUTPUT is not: results would have nowhere to go')
  for (const [name, value] of [['RUNPOD_WEBHOOK_GET_JOB', take], ['RUNPOD_WEBHOOK_POST_OUTPUT', done], ['RUNPOD_WEBHOOK_PING', env.RUNPOD_WEBHOOK_PING]] as const) {
    if (value && !/^https?:\/\/[^/]/.test(value)) return err(`${name} must be an http(s):// URL, got "${value}"`)
  }
  const interval = env.RUNPOD_PING_INTERVAL === undefined ? 10_000 : Number(env.RUNPOD_PING_INTERVAL)
  if (!Number.isFinite(interval) || interval < 1000) return err(`RUNPOD_PING_INTERVAL is milliseconds, at least 1000; got "${env.RUNPOD_PING_INTERVAL}"`)
  const podId = env.RUNPOD_POD_ID
  const workerId = podId || randomUUID()
  const apiKey = env.RUNPOD_AI_API_KEY || undefined
  const ping = env.RUNPOD_WEBHOOK_PING
  return ok({
    workerId,
    takeUrl: take.replaceAll('$ID', workerId),
    doneTemplate: done.replaceAll('$RUNPOD_POD_ID', workerId),
    // runpod-python pings only with a key, a pod id and a ping URL.
    ...(ping && apiKey && podId ? { pingUrl: ping.replaceAll('$RUNPOD_POD_ID', workerId) } : {}),
    pingIntervalMs: Math.floor(interval / 1000) * 1000,
    ...(apiKey ? { apiKey } : {}),
  })
}

/** A URL with query parameters added; RunPod's templates carry a `?` already, a bare one gets it. */
export function withQuery(url: string, query: Record<string, string>): string {
  const q = new URLSearchParams(query).toString()
  if (!q) return url
  return `${url}${url.includes('?') ? '&' : '?'}${q}`
}
