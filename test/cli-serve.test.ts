import { suite } from 'uvu'
import * as assert from 'uvu/assert'
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

S.run()
