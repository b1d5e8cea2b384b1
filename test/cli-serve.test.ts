import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { buildDemoWorld, DEMO_WORKFLOW } from '../stand-ins/demo-world.ts'
import { follow, killLeftovers } from './helpers/follow.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'
import { pollUntil } from './helpers/poll-until.ts'
import { comfyProcesses } from './helpers/comfy-processes.ts'
import { startRunpodStandin, RUNPOD_KEY, WORKER_ID, type RunpodStandin } from './helpers/runpod-standin.ts'
import { startS3Standin } from './helpers/s3-standin.ts'

/**
 * serve through the real CLI: the demo world's version realized once, then workers taking jobs from a RunPod job
 * API stand-in (node:http), from the local test API, and from --test-input, against the ComfyUI stand-in.
 */

const LIMIT_MS = 90_000
const ID = 'srv'
const OFFLINE = { COMFY_OFFLINE: '1' }

let w: World
let home = ''
let rp: RunpodStandin

const S = suite('serve')

S.before(guarded(async () => {
  w = await makeWorld('comfy-vc-serve-')
  const world = await buildDemoWorld(join(w.dir, 'world'))
  await w.writeSpec(ID, {
    schema_version: 2, id: ID,
    comfyui: { repo: world.core.url, ref: 'master' },
    custom_nodes: world.nodes.map(n => ({ repo: n.url, ref: 'main', ...(n.installScript ? { install_script: true } : {}) })),
    models: world.models.map(m => ({ url: m.url, path: m.path })),
    python: { find_links: [world.wheels] },
    launch: { port: 0 },
  })
  const validated = await w.cli(['validate', ID])
  if (validated.code !== 0) throw new Error(`validate failed:\n${validated.stderr}`)
  const realized = await w.cli(['realize', ID, '--offline'])
  if (realized.code !== 0) throw new Error(`realize failed:\n${realized.stderr}`)
  home = w.home(ID)
}))
S.before.each(guarded(async () => { rp = await startRunpodStandin() }))
S.after.each(guarded(async () => { killLeftovers(); await rp.close() }))
S.after(guarded(async () => { await w?.cleanup() }))

const comfyInHome = () => comfyProcesses().filter(p => p.cwd === home).map(p => p.pid)
const workflow = (seed: number, steps = 8) => ({ ...DEMO_WORKFLOW, '3': { ...DEMO_WORKFLOW['3'], inputs: { ...DEMO_WORKFLOW['3'].inputs, seed, steps } } })
const serve = (args: string[] = [], env: Record<string, string> = {}) =>
  follow(w.spawn(['serve', ID, '--offline', ...args], { detached: true, env: { ...OFFLINE, ...rp.env, ...env } }))

S('a worker takes jobs from RunPod, runs them on one ComfyUI, posts worker-comfyui results and drains on SIGTERM', within(async () => {
  const run = serve()
  await run.waitFor('stderr', /ComfyUI ready at/)
  const pids = comfyInHome()
  assert.is(pids.length, 1)
  const environ = readFileSync(`/proc/${pids[0]}/environ`, 'utf8').split('\0')
  assert.ok(environ.some(e => e.startsWith('RUNPOD_POD_ID=')), 'ComfyUI gets the environment...')
  assert.not.ok(environ.some(e => e.startsWith('RUNPOD_AI_API_KEY=')), '...but not the RunPod key')
  for (const seed of [1, 2, 3]) rp.queue({ id: `job-${seed}`, input: { workflow: workflow(seed) } })
  const results = await Promise.all([1, 2, 3].map(seed => rp.result(`job-${seed}`)))
  for (const r of results) {
    const output = r.body.output
    assert.is(output.images.length, 1, JSON.stringify(r.body))
    const image = output.images[0]
    assert.is(image.type, 'base64')
    assert.equal(Buffer.from(image.data, 'base64'), await readFile(join(home, 'output', image.filename)))
    assert.equal(output.outputs['9'], { images: [{ filename: image.filename, subfolder: '', type: 'output' }] }, 'the bytes once, in images')
    assert.equal(output.outputs['10'], { text: ['Hello, comfy-vc, from the demo node!'] })
    assert.is(r.headers.authorization, RUNPOD_KEY)
  }
  assert.equal(comfyInHome(), pids, 'the same ComfyUI ran every job')
  assert.ok(rp.takes.every(t => t.url.pathname === `/v2/ep/job-take/${WORKER_ID}` && t.url.searchParams.get('gpu') === 'TEST' && t.headers.authorization === RUNPOD_KEY))
  assert.ok(rp.takes.some(t => t.url.searchParams.get('job_in_progress') === '0'))
  assert.ok(rp.progress.some(p => /KSampler \[[#.]{10}\] \d\/8/.test(p.body.output)), 'progress updates while the prompt ran')
  const ping = await pollUntil('a heartbeat', () => rp.pings.find(p => p.headers.authorization === RUNPOD_KEY))
  assert.is(ping.url.searchParams.get('gpu'), 'TEST')

  // SIGTERM while a job runs: it finishes, is posted, and the worker exits with ComfyUI stopped.
  rp.queue({ id: 'job-last', input: JSON.stringify({ workflow: workflow(4, 60) }) })
  await pollUntil('the last job to run', () => rp.progress.some(p => p.url.pathname.endsWith('/job-last')))
  assert.ok(rp.pings.some(p => p.url.searchParams.get('job_id') === 'job-last') || await pollUntil('a heartbeat naming the job', () => rp.pings.some(p => p.url.searchParams.get('job_id') === 'job-last')))
  process.kill(run.child.pid!, 'SIGTERM')
  const last = await rp.result('job-last')
  assert.is(last.body.output.images.length, 1, 'the job in flight finished (input given as a JSON string)')
  const exit = await run.exit
  assert.is(exit.code, 130, run.stderr())
  assert.equal(comfyInHome(), [], 'ComfyUI stopped with the worker')
  assert.not.match(run.stderr(), RUNPOD_KEY)
}, LIMIT_MS))

S('ComfyUI dying mid-job fails that job with its log tail; it is restarted and the next job runs', within(async () => {
  const run = serve([], { STANDIN_STEP_DELAY: '0.2' })
  await run.waitFor('stderr', /ComfyUI ready at/)
  const [first] = comfyInHome()
  rp.queue({ id: 'doomed', input: { workflow: workflow(5, 100) } })
  await pollUntil('the job to run', () => rp.progress.some(p => p.url.pathname.endsWith('/doomed')))
  process.kill(first!, 'SIGKILL')
  const doomed = await rp.result('doomed')
  assert.is(doomed.body.error, 'ComfyUI exited during the job')
  const details: string[] = doomed.body.output.details
  assert.ok(details.includes("ComfyUI's log (last lines):"), details.join('\n'))
  assert.ok(details.some(l => l.includes('To see the GUI go to')), 'ComfyUI\'s own lines')
  await run.waitFor('stderr', /ComfyUI was killed by SIGKILL; its last lines:[\s\S]*starting it again/)
  rp.queue({ id: 'after', input: { workflow: workflow(6, 2) } })
  const after = await rp.result('after')
  assert.is(after.body.output?.images?.length, 1, JSON.stringify(after.body))
  const now = comfyInHome()
  assert.is(now.length, 1)
  assert.is.not(now[0], first, 'a new ComfyUI')
}, LIMIT_MS))

S('a job RunPod cancels (the stop channel) is interrupted, gets no result, and the next job runs', within(async () => {
  const run = serve([], { STANDIN_STEP_DELAY: '0.2' })
  rp.queue({ id: 'unwanted', input: { workflow: workflow(15, 200) } })
  await pollUntil('the job to run', () => rp.progress.some(p => p.url.pathname.endsWith('/unwanted')))
  rp.stop('unwanted')
  await run.waitFor('stderr', /job unwanted: cancelled by RunPod/)
  rp.queue({ id: 'wanted', input: { workflow: workflow(16, 2) } })
  const wanted = await rp.result('wanted')
  assert.is(wanted.body.output?.images?.length, 1, JSON.stringify(wanted.body))
  assert.not.ok(rp.done.has('unwanted'), 'nothing was posted for the cancelled job')
  const [, comfyUrl] = await run.waitFor('stderr', /ComfyUI ready at (\S+)/)
  const history = await (await fetch(`${comfyUrl}/history`)).json() as Record<string, any>
  const entry = Object.values(history).find(e => e.prompt[2]['3'].inputs.seed === 15)
  assert.ok(entry.status.messages.some((m: [string]) => m[0] === 'execution_interrupted'), 'ComfyUI interrupted the prompt')
}, LIMIT_MS))

S('--concurrency 2 runs two jobs at once on the one ComfyUI', within(async () => {
  const run = serve(['--concurrency', '2'])
  await run.waitFor('stderr', /taking jobs \(2 at once\)/)
  rp.queue({ id: 'a', input: { workflow: workflow(7, 20) } })
  rp.queue({ id: 'b', input: { workflow: workflow(8, 20) } })
  await pollUntil('both jobs in progress at once', () => rp.pings.some(p => (p.url.searchParams.get('job_id') ?? '').split(',').sort().join() === 'a,b'))
  const [a, b] = await Promise.all([rp.result('a'), rp.result('b')])
  assert.is(a.body.output.images.length + b.body.output.images.length, 2)
  assert.is(comfyInHome().length, 1)
}, LIMIT_MS))

S('a worker killed with SIGKILL leaves no ComfyUI behind', within(async () => {
  const run = serve()
  await run.waitFor('stderr', /ComfyUI ready at/)
  assert.is(comfyInHome().length, 1)
  process.kill(run.child.pid!, 'SIGKILL')
  await run.exit
  await pollUntil('ComfyUI to be gone', () => comfyInHome().length === 0)
}, LIMIT_MS))

S('files go to the S3 bucket as worker-comfyui names them, returned as s3_url; the keys stay secret', within(async () => {
  const s3 = await startS3Standin()
  try {
    const run = serve([], { BUCKET_ENDPOINT_URL: s3.url, BUCKET_ACCESS_KEY_ID: 'AKIDEXAMPLE', BUCKET_SECRET_ACCESS_KEY: 's3-secret-xyz' })
    rp.queue({ id: 'to-s3', input: { workflow: workflow(9, 2) } })
    const r = await rp.result('to-s3')
    const [image] = r.body.output.images
    assert.is(image.type, 's3_url')
    const month = new Date()
    const bucket = `${String(month.getMonth() + 1).padStart(2, '0')}-${String(month.getFullYear() % 100).padStart(2, '0')}`
    assert.is(s3.objects.length, 1)
    const object = s3.objects[0]!
    assert.is(object.bucket, bucket)
    assert.match(object.key, /^to-s3\/[0-9a-f]{8}\.png$/)
    assert.equal(object.body, await readFile(join(home, 'output', image.filename)))
    assert.is(object.headers['content-type'], 'image/png')
    assert.match(String(object.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//)
    assert.ok(image.data.startsWith(`${s3.url}/${bucket}/${object.key}?`), image.data)
    const url = new URL(image.data)
    assert.is(url.searchParams.get('X-Amz-Expires'), '604800')
    const got = await fetch(image.data)
    assert.equal(Buffer.from(await got.arrayBuffer()), object.body, 'the URL serves the file')
    assert.not.match(JSON.stringify(r.body), 's3-secret-xyz')
    process.kill(run.child.pid!, 'SIGTERM')
    await run.exit
    assert.not.match(run.stderr(), 's3-secret-xyz')
  } finally {
    await s3.close()
  }
}, LIMIT_MS))

S('--local-api answers like runpod-python\'s local server: /runsync, /run + /status, /cancel, /health', within(async () => {
  const run = serve(['--local-api', '0'], { RUNPOD_WEBHOOK_GET_JOB: '' })
  const [, api] = await run.waitFor('stderr', /local API at (http:\/\/\S+)/)
  const post = async (path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
    return { status: res.status, body: await res.json() as any }
  }
  const sync = await post('/runsync', { input: { workflow: workflow(10, 2) } })
  assert.is(sync.status, 200)
  assert.match(sync.body.id, /^test-[0-9a-f-]{36}$/)
  assert.is(sync.body.status, 'COMPLETED')
  assert.is(sync.body.output.images[0].type, 'base64')
  const queued = await post('/run', { input: { workflow: workflow(11, 2) } })
  assert.equal(Object.keys(queued.body).sort(), ['id', 'status'])
  assert.is(queued.body.status, 'IN_PROGRESS')
  const status = await post(`/status/${queued.body.id}`)
  assert.is(status.body.status, 'COMPLETED')
  assert.is(status.body.output.images.length, 1)
  assert.equal((await post(`/status/${queued.body.id}`)).body, { id: queued.body.id, status: 'FAILED', error: 'Job ID not found' }, 'answered once, then forgotten')
  const failed = await post('/runsync', { input: { workflow: { '1': { class_type: 'NoSuchNode', inputs: {} } } } })
  assert.is(failed.body.status, 'FAILED')
  assert.match(failed.body.error, /ComfyUI refused the workflow/)
  const slow = await post('/run', { input: { workflow: workflow(12, 400) } })
  const cancelled = await post(`/cancel/${slow.body.id}`)
  assert.equal(cancelled.body, { id: slow.body.id, status: 'CANCELLED' })
  assert.is((await post(`/status/${slow.body.id}`)).body.status, 'CANCELLED')
  const health = await fetch(`${api}/health`).then(r => r.json()) as any
  assert.equal(health.jobs, { completed: 2, failed: 1, inProgress: 0, inQueue: 0, retried: 0 })
  assert.is((await post('/runsync', { workflow: {} })).status, 422, 'a body without input')
  process.kill(run.child.pid!, 'SIGTERM')
  assert.is((await run.exit).code, 130)
}, LIMIT_MS))

S('--test-input runs one job, prints its result and exits; bad calls are exit 2 with a message', within(async () => {
  const file = join(w.dir, 'test_input.json')
  await writeFile(file, JSON.stringify({ input: { workflow: workflow(13, 2) } }))
  const r = await w.cli(['serve', ID, '--offline', '--test-input', file], { env: OFFLINE })
  assert.is(r.code, 0, r.stderr)
  const result = r.json()
  assert.is(result.images.length, 1)
  assert.equal(comfyInHome(), [])
  const nothing = await w.cli(['serve', ID, '--offline'], { env: OFFLINE, cwd: join(w.dir, 'versions') })
  assert.is(nothing.code, 2)
  assert.match(nothing.stderr, /nothing to serve: RUNPOD_WEBHOOK_GET_JOB is not set/)
  await writeFile(file, JSON.stringify({ workflow: {} }))
  const bad = await w.cli(['serve', ID, '--offline', '--test-input', file], { env: OFFLINE })
  assert.is(bad.code, 2)
  assert.match(bad.stderr, /test_input\.json: a test input has the form \{"input": \{"workflow": \{\.\.\.\}\}\}; "input" is missing/)
  await writeFile(file, JSON.stringify({ input: { workflow: workflow(14, 2) } }))
  const slow = await w.cli(['serve', ID, '--offline', '--test-input', file, '--startup-timeout', '2'], { env: { ...OFFLINE, STANDIN_STARTUP_DELAY: '30' } })
  assert.is(slow.code, 1, slow.stderr)
  assert.match(slow.stderr, /ComfyUI did not start: ComfyUI did not answer on http:\/\/127\.0\.0\.1:\d+ within 2 s/)
  assert.equal(comfyInHome(), [])
  const bucket = await w.cli(['serve', ID, '--offline', '--test-input', file], { env: { ...OFFLINE, BUCKET_ENDPOINT_URL: 'http://127.0.0.1:9' } })
  assert.is(bucket.code, 2)
  assert.match(bucket.stderr, /BUCKET_ENDPOINT_URL is set but BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY are not/)
}, LIMIT_MS))

S.run()
