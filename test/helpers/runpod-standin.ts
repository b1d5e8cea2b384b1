/**
 * RunPod's job API as a worker sees it, on node:http (reference/runpod-worker.md §3-7): job-take (a long poll that
 * answers 204 when no job comes), job-done (results and IN_PROGRESS updates), ping. Jobs are queued by the test.
 *
 *   const rp = await startRunpodStandin()
 *   rp.queue({ id: 'j1', input: { workflow } })
 *   w.spawn(['serve', 'demo'], { env: rp.env })
 *   const done = await rp.result('j1')            // the job-done body, once posted
 *   rp.stop('j1')                                  // RunPod's cancel: the next job-stop poll names it
 *   rp.takes, rp.pings, rp.progress               // every request seen, with its headers
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Seen { url: URL; headers: IncomingHttpHeaders; body?: any }

export interface RunpodStandin {
  url: string
  /** The worker's environment, as RunPod sets it. */
  env: Record<string, string>
  queue(job: { id: string; input: unknown; [k: string]: unknown }): void
  stop(id: string): void
  /** Resolves with the job-done body of a job once it is posted. */
  result(id: string): Promise<Seen>
  takes: Seen[]
  pings: Seen[]
  progress: Seen[]
  done: Map<string, Seen>
  close(): Promise<void>
}

export const WORKER_ID = 'worker-1'
export const RUNPOD_KEY = 'rp-secret-key-123'

/** How long a take waits for a job before its 204: RunPod's long poll, shortened. */
const HOLD_MS = 500

export async function startRunpodStandin(): Promise<RunpodStandin> {
  const pending: { id: string; input: unknown }[] = []
  const takers: (() => void)[] = []
  const toStop: string[] = []
  const stopPolls: (() => void)[] = []
  const done = new Map<string, Seen>()
  const waiting = new Map<string, ((s: Seen) => void)[]>()
  const rp = { takes: [] as Seen[], pings: [] as Seen[], progress: [] as Seen[] }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const text = Buffer.concat(chunks).toString('utf8')
      const seen: Seen = { url, headers: req.headers, ...(text ? { body: JSON.parse(text) } : {}) }
      const take = /^\/v2\/ep\/job-take\/([^/]+)$/.exec(url.pathname)
      const post = /^\/v2\/ep\/job-done\/([^/]+)\/([^/]+)$/.exec(url.pathname)
      if (take && req.method === 'GET') {
        rp.takes.push(seen)
        const answer = () => {
          const job = pending.shift()
          if (!job) { res.writeHead(204).end(); return }
          const body = JSON.stringify(job)
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
        }
        if (pending.length) { answer(); return }
        let settled = false
        const go = () => { if (settled) return; settled = true; clearTimeout(timer); takers.splice(takers.indexOf(go), 1); answer() }
        const timer = setTimeout(go, HOLD_MS)
        takers.push(go)
        res.once('close', () => { if (!settled) { settled = true; clearTimeout(timer); takers.splice(takers.indexOf(go), 1) } })
        return
      }
      if (/^\/v2\/ep\/job-stop\/[^/]+$/.test(url.pathname) && req.method === 'GET') {
        const answer = () => {
          if (!toStop.length) { res.writeHead(204).end(); return }
          const body = JSON.stringify({ jobsToStop: toStop.splice(0) })
          res.writeHead(200, { 'content-type': 'application/json' }).end(body)
        }
        if (toStop.length) { answer(); return }
        let settled = false
        const go = () => { if (settled) return; settled = true; clearTimeout(timer); stopPolls.splice(stopPolls.indexOf(go), 1); answer() }
        const timer = setTimeout(go, HOLD_MS)
        stopPolls.push(go)
        res.once('close', () => { if (!settled) { settled = true; clearTimeout(timer); stopPolls.splice(stopPolls.indexOf(go), 1) } })
        return
      }
      if (post && req.method === 'POST') {
        if (seen.body?.status === 'IN_PROGRESS') rp.progress.push(seen)
        else {
          done.set(post[2]!, seen)
          for (const f of waiting.get(post[2]!) ?? []) f(seen)
          waiting.delete(post[2]!)
        }
        res.writeHead(200).end('{}')
        return
      }
      if (/^\/v2\/ep\/ping\/[^/]+$/.test(url.pathname)) {
        rp.pings.push(seen)
        res.writeHead(200).end('{}')
        return
      }
      res.writeHead(404).end()
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url, ...rp, done,
    env: {
      RUNPOD_WEBHOOK_GET_JOB: `${url}/v2/ep/job-take/$ID?gpu=TEST`,
      RUNPOD_WEBHOOK_POST_OUTPUT: `${url}/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=TEST`,
      RUNPOD_WEBHOOK_PING: `${url}/v2/ep/ping/$RUNPOD_POD_ID?gpu=TEST`,
      RUNPOD_POD_ID: WORKER_ID, RUNPOD_AI_API_KEY: RUNPOD_KEY, RUNPOD_PING_INTERVAL: '1000',
    },
    queue(job) {
      pending.push(job)
      takers[0]?.()
    },
    stop(id) {
      toStop.push(id)
      stopPolls[0]?.()
    },
    result(id) {
      const seen = done.get(id)
      if (seen) return Promise.resolve(seen)
      return new Promise(resolve => waiting.set(id, [...(waiting.get(id) ?? []), resolve]))
    },
    close: () => new Promise<void>(r => { server.close(() => r()); server.closeAllConnections() }),
  }
}
