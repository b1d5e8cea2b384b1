import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { Limit } from '../util/limit.ts'
import { jobDonePayload, type HandlerResult, type RunpodJob } from './job-payload.ts'

export interface LocalApiOptions {
  host: string
  port: number
  /** Jobs at once; the others wait in the order they came. */
  concurrency: number
  /** Runs one job; aborting `signal` is `/cancel/{id}`. */
  handle: (job: RunpodJob, signal: AbortSignal) => Promise<HandlerResult>
  onLog: (line: string) => void
}

export interface LocalApi {
  url: string
  /** Stops accepting requests; resolves once the jobs already accepted have finished. */
  close(): Promise<void>
}

type Tracked = {
  job: RunpodJob
  state: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED'
  cancel: AbortController
  done: Promise<Answer>
}
type Answer = { id: string; status: string; output?: unknown; error?: string }

/**
 * runpod-python's local test API (`--rp_serve_api`, reference/runpod-worker.md §11) on node:http, with the same
 * request and answer shapes: POST `/run` and `/runsync` with `{"input", "webhook"?}`, `/status/{id}`; and the two
 * routes of RunPod's hosted API it lacks, `/cancel/{id}` and `/health`. Unlike runpod-python, `/run` starts the
 * job at once (a client polling `/status` sees the same answers, sooner). GET and POST are both accepted.
 */
export async function startLocalApi(o: LocalApiOptions): Promise<LocalApi> {
  const jobs = new Map<string, Tracked>()
  const limit = new Limit(o.concurrency)
  const counts = { completed: 0, failed: 0 }
  const running = new Set<Promise<unknown>>()

  const submit = (input: unknown, webhook: string | undefined): Tracked => {
    const id = `test-${randomUUID()}`
    const job: RunpodJob = { id, input, ...(webhook ? { webhook } : {}) }
    const cancel = new AbortController()
    const tracked: Tracked = { job, state: 'IN_QUEUE', cancel, done: undefined as unknown as Promise<Answer> }
    tracked.done = (async (): Promise<Answer> => {
      let release
      try {
        release = await limit.acquire(cancel.signal)
      } catch {
        tracked.state = 'CANCELLED'
        return { id, status: 'CANCELLED' }
      }
      tracked.state = 'IN_PROGRESS'
      try {
        const result = await o.handle(job, cancel.signal)
        const payload = jobDonePayload(result)
        const answer: Answer = cancel.signal.aborted ? { id, status: 'CANCELLED' }
          : payload.error ? { id, status: 'FAILED', error: payload.error } : { id, status: 'COMPLETED', output: payload.output }
        tracked.state = answer.status as Tracked['state']
        if (answer.status === 'FAILED') counts.failed++
        if (answer.status === 'COMPLETED') counts.completed++
        if (payload.error) o.onLog(`job ${id} failed: ${payload.error}${detailsOf(payload.output)}`)
        if (webhook) void postWebhook(webhook, answer, o.onLog)
        return answer
      } finally {
        release()
      }
    })()
    running.add(tracked.done)
    void tracked.done.finally(() => running.delete(tracked.done))
    jobs.set(id, tracked)
    return tracked
  }

  const route = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const path = new URL(req.url ?? '/', 'http://local').pathname.replace(/\/+$/, '')
    const [, name, id] = /^\/([a-z]+)(?:\/([^/]+))?$/.exec(path) ?? []
    if ((name === 'run' || name === 'runsync') && !id) {
      if (req.method !== 'POST') return [405, { detail: 'Method Not Allowed' }]
      const body = await readJson(req)
      if (!isObject(body) || !('input' in body) || !(isObject(body.input) || typeof body.input === 'string')) {
        return [422, { detail: [{ loc: ['body', 'input'], msg: 'input must be a JSON object', type: 'type_error.dict' }] }]
      }
      const tracked = submit(body.input, typeof body.webhook === 'string' ? body.webhook : undefined)
      if (name === 'run') return [200, { id: tracked.job.id, status: 'IN_PROGRESS' }]
      jobs.delete(tracked.job.id)
      return [200, await tracked.done]
    }
    if (name === 'status' && id) {
      const tracked = jobs.get(id)
      if (!tracked) return [200, { id, status: 'FAILED', error: 'Job ID not found' }]
      const answer = await tracked.done
      jobs.delete(id) // answered once, then forgotten, as runpod-python does
      return [200, answer]
    }
    if (name === 'cancel' && id) {
      const tracked = jobs.get(id)
      if (!tracked) return [200, { id, status: 'FAILED', error: 'Job ID not found' }]
      if (tracked.state === 'IN_QUEUE' || tracked.state === 'IN_PROGRESS') tracked.cancel.abort()
      return [200, { id, status: 'CANCELLED' }]
    }
    if (name === 'health' && !id) {
      const states = [...jobs.values()].map(j => j.state)
      const inProgress = states.filter(s => s === 'IN_PROGRESS').length
      return [200, {
        jobs: { completed: counts.completed, failed: counts.failed, inProgress, inQueue: states.filter(s => s === 'IN_QUEUE').length, retried: 0 },
        workers: { idle: inProgress === 0 ? 1 : 0, running: inProgress > 0 ? 1 : 0 },
      }]
    }
    return [404, { detail: 'Not Found' }]
  }

  const server = createServer((req, res) => {
    route(req).then(([status, body]) => send(res, status, body), e => send(res, 500, { detail: (e as Error).message }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${address.port}`,
    async close() {
      await new Promise<void>(resolve => { server.close(() => resolve()); server.closeIdleConnections() })
      await Promise.allSettled([...running])
    },
  }
}

// --- internal ---

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function detailsOf(output: unknown): string {
  const details = isObject(output) && Array.isArray(output.details) ? output.details : []
  return details.length ? `\n  ${details.map(String).join('\n  ')}` : ''
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return undefined
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** runpod-python's webhook: the answer POSTed in the background with a 10 s timeout; failures are only logged. */
async function postWebhook(url: string, answer: Answer, onLog: (line: string) => void): Promise<void> {
  try {
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer), signal: AbortSignal.timeout(10_000) })
    await res.body.dump()
  } catch (e) {
    onLog(`webhook for job ${answer.id} failed: ${(e as Error).message}`)
  }
}
