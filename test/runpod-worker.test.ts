import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { JobApi } from '../lib/runpod/job-api.ts'
import { jobDonePayload } from '../lib/runpod/job-payload.ts'
import { workerSettingsOf, type WorkerSettings } from '../lib/runpod/worker-settings.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'

const R = suite('runpod worker protocol')

let handler: (req: IncomingMessage, res: ServerResponse) => void = (_, res) => { res.writeHead(204).end() }
const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = []
const server = createServer((req, res) => {
  let body = ''
  req.on('data', c => { body += c })
  req.on('end', () => { seen.push({ url: req.url ?? '', headers: req.headers, body }); handler(req, res) })
})
let base = ''
R.before(guarded(async () => {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}))
R.after(guarded(() => new Promise<void>(r => { server.close(() => r()); server.closeAllConnections() })))
R.before.each(guarded(() => { seen.length = 0 }))

const settings = (): WorkerSettings => {
  const s = workerSettingsOf({
    RUNPOD_WEBHOOK_GET_JOB: `${base}/job-take/$ID?gpu=A`, RUNPOD_WEBHOOK_POST_OUTPUT: `${base}/job-done/$RUNPOD_POD_ID/$ID?gpu=A`,
    RUNPOD_WEBHOOK_PING: `${base}/ping/$RUNPOD_POD_ID?gpu=A`, RUNPOD_POD_ID: 'pod-9', RUNPOD_AI_API_KEY: 'key-1', RUNPOD_PING_INTERVAL: '2500',
  })
  if (!s.ok || !s.value) throw new Error('no settings')
  return s.value
}

R('the URL templates get the worker id as runpod-python substitutes it; pings need a key and a pod id', () => {
  const s = settings()
  assert.is(s.takeUrl, `${base}/job-take/pod-9?gpu=A`)
  assert.is(s.doneTemplate, `${base}/job-done/pod-9/$ID?gpu=A`)
  assert.is(s.pingUrl, `${base}/ping/pod-9?gpu=A`)
  assert.is(s.pingIntervalMs, 2000, 'whole seconds')
  const noPod = workerSettingsOf({ RUNPOD_WEBHOOK_GET_JOB: 'http://h/job-take/$ID?x=1', RUNPOD_WEBHOOK_POST_OUTPUT: 'http://h/d/$ID?x=1', RUNPOD_WEBHOOK_PING: 'http://h/p?x=1', RUNPOD_AI_API_KEY: 'k' })
  assert.ok(noPod.ok && noPod.value && !noPod.value.pingUrl && /^[0-9a-f-]{36}$/.test(noPod.value.workerId))
  assert.equal(workerSettingsOf({}), { ok: true, value: undefined })
  const noDone = workerSettingsOf({ RUNPOD_WEBHOOK_GET_JOB: 'http://h/t' })
  assert.is(noDone.ok ? '' : noDone.error, 'RUNPOD_WEBHOOK_GET_JOB is set but RUNPOD_WEBHOOK_POST_OUTPUT is not: results would have nowhere to go')
})

R('a result becomes runpod-python\'s job-done body: error lifted, the rest under output', () => {
  assert.equal(jobDonePayload({ error: 'x', details: ['a'] }), { output: { details: ['a'] }, error: 'x' })
  assert.equal(jobDonePayload({ error: 'x' }), { error: 'x' })
  assert.equal(jobDonePayload({ images: [], outputs: {} }), { output: { images: [], outputs: {} } })
})

R('take: 204 and 400 are no job, 429 backs off, JSON objects and arrays are jobs, a job without input is refused', within(async () => {
  const api = new JobApi(settings(), 'test-agent')
  const signal = new AbortController().signal
  const answers: [number, string, string][] = [
    [204, '', ''], [400, 'application/json', '{}'], [429, '', ''], [500, 'text/plain', 'down'], [200, 'text/html', '<p>'],
    [200, 'application/json', '{"id":"j1","input":{"workflow":{}}}'], [200, 'application/json', '[{"id":"j2","input":"{}"},{"id":"j3"}]'],
  ]
  const kinds: unknown[] = []
  for (const [status, type, body] of answers) {
    handler = (_, res) => { res.writeHead(status, type ? { 'content-type': type } : {}).end(body) }
    const a = await api.take(false, signal)
    kinds.push(a.kind === 'jobs' ? { jobs: a.jobs.map(j => j.id), refused: a.refused } : a.kind === 'failed' ? `failed: ${a.message}` : a.kind)
  }
  assert.equal(kinds, ['none', 'none', 'too-many-requests', 'failed: HTTP 500 down', 'none', { jobs: ['j1'], refused: [] }, { jobs: ['j2'], refused: ['job j3 has no "input"'] }])
  assert.ok(seen.every(s => s.url === '/job-take/pod-9?gpu=A&job_in_progress=0' && s.headers.authorization === 'key-1'))
}))

R('a result post is retried on 5xx and sent as runpod-python sends it', within(async () => {
  let calls = 0
  handler = (_, res) => { calls++; res.writeHead(calls < 2 ? 503 : 200).end() }
  const api = new JobApi(settings(), 'test-agent')
  assert.is(await api.postDone('j1', { output: { images: [] } }), undefined)
  assert.is(calls, 2)
  const post = seen.at(-1)!
  assert.is(post.url, '/job-done/pod-9/j1?gpu=A&isStream=false')
  assert.equal(JSON.parse(post.body), { output: { images: [] } })
  assert.is(post.headers['content-type'], 'application/x-www-form-urlencoded')
  assert.is(post.headers.authorization, 'key-1')
  handler = (_, res) => { res.writeHead(404).end() }
  assert.is(await api.postDone('j2', { error: 'x' }), 'HTTP 404', 'a 4xx is not retried')
}))

R.run()
