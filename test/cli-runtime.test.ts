import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { makeWorld, ROOT, type World } from './helpers/cli.ts'
import { makeStandinHome, startStandin, txt2imgWorkflow } from './helpers/comfy-standin.ts'
import { buildDemoWorld, DEMO_WORKFLOW } from '../stand-ins/demo-world.ts'
import { follow, killLeftovers } from './helpers/follow.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'
import { comfyPids, comfyProcesses } from './helpers/comfy-processes.ts'

/**
 * run-ui and run-handler through the real CLI, against the demo world's ComfyUI stand-in: one spec
 * (core, both demo nodes, both models) pinned with validate and realized once offline; every test
 * then starts ComfyUI from that home.
 */

// Each test starts ComfyUI (the stand-in) at least once through the CLI: a longer guard than within's default.
const LIMIT_MS = 60_000

const ID = 'rt'
const OFFLINE = { COMFY_OFFLINE: '1' }
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

let w: World
let home = ''
/** The PNG of the first job, reused as an input image. */
let png: Buffer | undefined

async function setup(): Promise<void> {
  w = await makeWorld('comfy-vc-runtime-')
  const world = await buildDemoWorld(join(w.dir, 'world'))
  await w.writeSpec(ID, {
    schema_version: 2, id: ID,
    comfyui: { repo: world.core.url, ref: 'master' },
    custom_nodes: world.nodes.map(n => ({ repo: n.url, ref: 'main', ...(n.installScript ? { install_script: true } : {}) })),
    models: world.models.map(m => ({ url: m.url, path: m.path })),
    python: { find_links: [world.wheels] },
  })
  const validated = await w.cli(['validate', ID])
  if (validated.code !== 0) throw new Error(`validate failed:\n${validated.stderr}`)
  const realized = await w.cli(['realize', ID, '--offline'])
  if (realized.code !== 0) throw new Error(`realize failed:\n${realized.stderr}`)
  home = w.home(ID)
}

const READY = /ComfyUI ready at (http:\/\/127\.0\.0\.1:(\d+))/

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/system_stats`, { signal: AbortSignal.timeout(2_000) })
    await res.arrayBuffer()
    return res.ok
  } catch {
    return false
  }
}

const listen = (server: Server) => new Promise<number>(resolve => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))

async function inputFile(name: string, content: unknown): Promise<string> {
  const dir = join(w.dir, 'inputs')
  await mkdir(dir, { recursive: true })
  const file = join(dir, name)
  await writeFile(file, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content, null, 2))
  return file
}

/** Runs run-handler and checks the ComfyUI it started is gone afterwards. */
async function handler(args: string[], env: Record<string, string> = {}) {
  const r = await w.cli(['run-handler', ID, '--offline', ...args], { env: { ...OFFLINE, ...env } })
  const port = READY.exec(r.stderr)?.[2]
  if (port) assert.equal(comfyPids(port), [], `ComfyUI on port ${port} is still running after run-handler`)
  return { ...r, port }
}

/**
 * ComfyUI stopped on exactly one SIGINT: it printed its own shutdown line (a second SIGINT during Python's shutdown
 * would kill it, at times with a traceback), and nothing serves the port any more. run-ui exits 130, as every
 * interrupted command does.
 */
function assertStoppedOnce(code: number | null, output: string, port: string): void {
  assert.is(code, 130, `exit code ${code}:\n${output}`)
  assert.match(output, /Stopped server/)
  assert.not.match(output, /Traceback/)
  assert.equal(comfyPids(port), [])
}

// --- run-ui ---

const U = suite('cli: run-ui')

U.before(guarded(setup))

U('prints the ready line once /system_stats answers, passes -- ARGS on, and forwards SIGINT', within(async () => {
  const run = follow(w.spawn(['run-ui', ID, '--offline', '--port', '0', '--', '--some-arg', 'value'], { detached: true }))
  const [, url, port] = await run.waitFor('stdout', READY)
  assert.is.not(port, '0')
  assert.is(run.stdout(), `ComfyUI ready at ${url}\n`, 'stdout carries the ready line only')
  const stats = await (await fetch(`${url}/system_stats`)).json() as { system: { argv: string[] } }
  assert.equal(stats.system.argv, ['main.py', '--listen', '127.0.0.1', '--port', port!, '--some-arg', 'value'])
  await run.waitFor('stderr', /Ignoring unrecognized arguments: --some-arg value/)
  const pids = comfyPids(port!)
  assert.is(pids.length, 1, 'one ComfyUI process serves the port')

  run.child.kill('SIGINT')
  const exit = await run.exit
  assertStoppedOnce(exit.code, run.stderr(), port!)
  assert.not.ok(await answers(url!))
}, LIMIT_MS))

U('a --port after -- is refused (exit 2): the tool would wait on a port ComfyUI does not use', within(async () => {
  const r = await w.cli(['run-ui', ID, '--offline', '--port', '0', '--', '--port', '8189'], { env: OFFLINE })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /--port in launch\.args or after --: ComfyUI would listen where the tool does not wait; set launch\.port in the spec or pass --port to the command instead/)
  assert.equal(comfyProcesses().filter(p => p.cwd === home), [])
}, LIMIT_MS))

U('SIGTERM is forwarded and run-ui exits 130; --json reports the launch cancelled, with ComfyUI\'s own code (143)', within(async () => {
  const run = follow(w.spawn(['run-ui', ID, '--offline', '--port', '0', '--json'], { detached: true }))
  const [, url, port] = await run.waitFor('stderr', READY)
  assert.ok(await answers(url!))
  run.child.kill('SIGTERM')
  const exit = await run.exit
  assert.is(exit.code, 130, run.stderr())
  const report = JSON.parse(run.stdout())
  assert.is(report.ok, false)
  const launch = report.tasks.at(-1)
  assert.is(launch.id, 'launch')
  assert.is(launch.status, 'cancelled')
  assert.is(launch.url, url)
  assert.is(launch.exit_code, 143)
  assert.ok(report.tasks.slice(0, -1).every((t: { status: string }) => t.status === 'skipped'), 'the realize part was a no-op')
  assert.equal(comfyPids(port!), [])
}, LIMIT_MS))

U('ComfyUI dying on its own (killed from outside) ends run-ui with exit 1 and says so; --json reports the launch failed', within(async () => {
  const run = follow(w.spawn(['run-ui', ID, '--offline', '--port', '0', '--json'], { detached: true }))
  const [, url, port] = await run.waitFor('stderr', READY)
  const [pid] = comfyPids(port!)
  assert.ok(pid, 'ComfyUI serves the port')
  process.kill(pid!, 'SIGKILL')
  const exit = await run.exit
  assert.is(exit.code, 1, run.stderr())
  assert.match(run.stderr(), /ComfyUI exited on its own \(SIGKILL\)/)
  const launch = JSON.parse(run.stdout()).tasks.at(-1)
  assert.equal([launch.status, launch.url, launch.exit_code], ['failed', url, 137])
}, LIMIT_MS))

U('ComfyUI failing before it is ready: exit 1 with its last log lines; --json reports the launch failed with its exit code', within(async () => {
  const r = await w.cli(['run-ui', ID, '--offline', '--port', '0', '--json'], { env: { STANDIN_STARTUP_ERROR: 'No module named torch' } })
  assert.is(r.code, 1, r.stderr)
  assert.match(r.stderr, /ComfyUI exited with code 1 before it was ready; the last lines of its log:\n[^]*No module named torch/)
  const launch = JSON.parse(r.stdout).tasks.at(-1)
  assert.equal([launch.id, launch.status, launch.exit_code], ['launch', 'failed', 1])
  assert.match(launch.error, /before it was ready/)
}, LIMIT_MS))

U('Ctrl-C typed in a terminal: ComfyUI gets it once and run-ui exits 130', within(async () => {
  if (!existsSync('/usr/bin/script')) { console.warn('  (no util-linux script: terminal Ctrl-C not tested)'); return }
  // `script` gives run-ui a pseudo-terminal; a ^C written to it reaches the whole foreground group, ComfyUI included.
  const cmd = [process.execPath, '--import', import.meta.resolve('tsx'), join(ROOT, 'tasks', 'index.ts'), 'run-ui', ID, '--offline', '--port', '0']
  const quoted = cmd.map(a => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  // `exec`: script runs the command through $SHELL or /bin/sh, and dash would die of the ^C itself (130).
  const child = spawn('script', ['-qfec', `exec ${quoted}`, '/dev/null'], { cwd: w.dir, env: w.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
  const run = follow(child)
  const [, url, port] = await run.waitFor('stdout', READY)
  assert.ok(await answers(url!))
  child.stdin!.write('\x03')
  const exit = await run.exit
  assertStoppedOnce(exit.code, run.stdout(), port!)
}, LIMIT_MS))

U('SIGINT to the whole process group (dumb-init, kill -INT -PGID), no terminal: ComfyUI gets it once', within(async () => {
  const run = follow(w.spawn(['run-ui', ID, '--offline', '--port', '0'], { detached: true }))
  const [, url, port] = await run.waitFor('stdout', READY)
  assert.ok(await answers(url!))
  process.kill(-run.child.pid!, 'SIGINT')
  const exit = await run.exit
  assertStoppedOnce(exit.code, run.stderr(), port!)
}, LIMIT_MS))

U('a port in use is a clear error naming it (exit 1); no ComfyUI is left behind', within(async () => {
  const held = createServer()
  const port = await listen(held)
  try {
    const r = await w.cli(['run-ui', ID, '--offline', '--port', String(port)])
    assert.is(r.code, 1, r.stderr)
    assert.match(r.stderr, new RegExp(`port ${port} is already in use on 127\\.0\\.0\\.1.*--port 0`))
    assert.is(r.stdout, '')
    const json = await w.cli(['run-ui', ID, '--offline', '--port', String(port), '--json'])
    assert.is(json.code, 1)
    const launch = json.json().tasks.at(-1)
    assert.is(launch.id, 'launch')
    assert.is(launch.status, 'failed')
    assert.match(launch.error, new RegExp(`port ${port} is already in use`))
    assert.equal(comfyPids(port), [])
  } finally {
    held.close()
  }
}, LIMIT_MS))

U('Ctrl-C while ComfyUI is still starting stops it and run-ui (exit 130)', within(async () => {
  const run = follow(w.spawn(['run-ui', ID, '--offline', '--port', '0'], { env: { STANDIN_STARTUP_DELAY: '30' }, detached: true }))
  // The stand-in logs its path, then sleeps before it listens.
  await run.waitFor('stderr', /ComfyUI Path:/)
  const starting = comfyProcesses().filter(p => p.cwd === home)
  assert.is(starting.length, 1, 'the starting ComfyUI is found')
  const port = starting[0]!.port
  run.child.kill('SIGINT')
  const exit = await run.exit
  assert.is(exit.code, 130, run.stderr())
  assert.not.match(run.stdout(), /ComfyUI ready/)
  assert.equal(comfyPids(port!), [])
}, LIMIT_MS))

U.after.each(guarded(killLeftovers))

U.run()

// --- run-handler ---

const H = suite('cli: run-handler')

H.after(guarded(async () => { await w?.cleanup() }))

H('the demo workflow: the PNG in the result is the file ComfyUI saved, byte for byte; ComfyUI is stopped', within(async () => {
  const workflow = await inputFile('demo.json', DEMO_WORKFLOW)
  const r = await handler(['--workflow', workflow])
  assert.is(r.code, 0, r.stderr)
  assert.ok(r.port, 'the ready line is on stderr')
  const result = r.json()
  assert.is(result.images.length, 1)
  const image = result.images[0]
  assert.match(image.filename, /^demo_\d{5}_\.png$/)
  assert.is(image.type, 'base64')
  const data = Buffer.from(image.data, 'base64')
  assert.equal(data, await readFile(join(home, 'output', image.filename)))
  assert.equal(data.subarray(0, 8), PNG_SIGNATURE)
  assert.equal(Object.keys(result.outputs), ['9', '10', '11'])
  assert.equal(result.outputs['10'], { text: ['Hello, comfy-vc, from the demo node!'] })
  assert.equal(result.outputs['11'], { text: ['palette 1.2.0: red, green, blue (installed)'] })
  assert.match(r.stderr, /KSampler \[#{10}\] 8\/8/)
  png = data
}, LIMIT_MS))

H('--output files --out-dir writes the images; --out-file takes the result JSON', within(async () => {
  const workflow = await inputFile('demo.json', DEMO_WORKFLOW)
  const outDir = join(w.dir, 'out')
  const outFile = join(w.dir, 'out', 'result.json')
  const r = await handler(['--workflow', workflow, '--output', 'files', '--out-dir', outDir, '--out-file', outFile])
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout, '', 'the result went to --out-file')
  assert.match(r.stderr, /result written to .*result\.json/)
  const result = JSON.parse(await readFile(outFile, 'utf8'))
  const image = result.images[0]
  assert.equal({ type: image.type, path: image.path }, { type: 'file', path: join(outDir, image.filename) })
  assert.equal(await readFile(image.path), await readFile(join(home, 'output', image.filename)))
  assert.not.ok('data' in image)
}, LIMIT_MS))

H('--job with a base64 image and --image NAME=PATH: LoadImage sees the uploaded pictures', within(async () => {
  assert.ok(png, 'the first test made a PNG')
  const roundtrip = (name: string) => ({
    '1': { class_type: 'LoadImage', inputs: { image: name } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'roundtrip' } },
  })
  const job = await inputFile('job.json', { input: { workflow: roundtrip('from-job.png'), images: [{ name: 'from-job.png', image: `data:image/png;base64,${png!.toString('base64')}` }] } })
  const r = await handler(['--job', job])
  assert.is(r.code, 0, r.stderr)
  assert.equal(await readFile(join(home, 'input', 'from-job.png')), png)
  assert.is(r.json().images[0].data, png!.toString('base64'), 'decoded and saved again, the pixels are the uploaded ones')

  const picture = await inputFile('picture.png', png!)
  const workflow = await inputFile('load.json', roundtrip('flag.png'))
  const flagged = await handler(['--workflow', workflow, '--image', `flag.png=${picture}`])
  assert.is(flagged.code, 0, flagged.stderr)
  assert.equal(await readFile(join(home, 'input', 'flag.png')), png)
  assert.is(flagged.json().images[0].data, png!.toString('base64'))
}, LIMIT_MS))

H('a workflow ComfyUI refuses (validation 400): exit 1, {error, details} per node and input', within(async () => {
  const bad = structuredClone(DEMO_WORKFLOW) as Record<string, { class_type: string; inputs: Record<string, unknown> }>
  bad['4']!.inputs.ckpt_name = 'missing.safetensors'
  const r = await handler(['--workflow', await inputFile('bad.json', bad)])
  assert.is(r.code, 1, r.stderr)
  const result = r.json()
  assert.equal(Object.keys(result), ['error', 'details'])
  assert.is(result.error, 'ComfyUI refused the workflow: Prompt outputs failed validation')
  assert.is(result.details.length, 1, JSON.stringify(result.details))
  assert.match(result.details[0], /^node 4 \(CheckpointLoaderSimple\): ckpt_name: Value not in list: 'missing\.safetensors' not in \[.*'demo-v1\.safetensors'.*\]$/)
  assert.match(r.stderr, /job failed: ComfyUI refused the workflow/)
}, LIMIT_MS))

H('an execution error: exit 1 naming the node id, its class and the message, with ComfyUI\'s log', within(async () => {
  const raising: Record<string, unknown> = { ...DEMO_WORKFLOW, '20': { class_type: 'StandinRaise', inputs: { message: 'CUDA out of memory', images: ['8', 0] } } }
  delete raising['9']
  const r = await handler(['--workflow', await inputFile('raise.json', raising)])
  assert.is(r.code, 1, r.stderr)
  const result = r.json()
  assert.is(result.error, 'node 20 (StandinRaise) failed: CUDA out of memory')
  assert.equal(result.details.slice(0, 2), ['node 20 (StandinRaise)', 'RuntimeError: CUDA out of memory'])
  assert.ok(result.details.includes("ComfyUI's log (last lines):"))
  assert.ok(result.details.some((l: string) => l.includes('!!! Exception during processing !!! CUDA out of memory')))
}, LIMIT_MS))

H('a node failing after the image was saved: the image is returned with the failure in errors, exit 1', within(async () => {
  const raising = { ...DEMO_WORKFLOW, '20': { class_type: 'StandinRaise', inputs: { message: 'late', images: ['8', 0] } } }
  const r = await handler(['--workflow', await inputFile('raise-late.json', raising)])
  assert.is(r.code, 1, r.stderr)
  const result = r.json()
  assert.equal(result.errors, ['node 20 (StandinRaise) failed: late'])
  assert.equal(Buffer.from(result.images[0].data, 'base64'), await readFile(join(home, 'output', result.images[0].filename)))
  assert.match(r.stderr, /part of the job failed:\n {2}node 20 \(StandinRaise\) failed: late/)
}, LIMIT_MS))

H('--timeout on a slow prompt: exit 1, "timed out", and the prompt is interrupted', within(async () => {
  const r = await handler(['--workflow', await inputFile('demo.json', DEMO_WORKFLOW), '--timeout', '1'], { STANDIN_STEP_DELAY: '1' })
  assert.is(r.code, 1, r.stderr)
  const result = r.json()
  assert.is(result.error, 'timed out after 1 s; the prompt was interrupted')
  assert.equal(result.details.slice(0, 2), ['while running node 3 (KSampler)', "ComfyUI's log (last lines):"])
}, LIMIT_MS))

H('ComfyUI killed mid-job: exit 1, "ComfyUI exited during the job"', within(async () => {
  const r = await handler(['--workflow', await inputFile('demo.json', DEMO_WORKFLOW)], { STANDIN_DIE_AFTER_STEPS: '2' })
  assert.is(r.code, 1, r.stderr)
  const result = r.json()
  assert.is(result.error, 'ComfyUI exited during the job')
  assert.equal(result.details.slice(0, 2), ['while running node 3 (KSampler)', "ComfyUI's log (last lines):"])
  assert.is(result.details.at(-1), '  STANDIN_DIE_AFTER_STEPS: killing the process at step 2', 'ComfyUI\'s last words')
}, LIMIT_MS))

H('--url runs the job on a ComfyUI already running: nothing is realized', within(async () => {
  const standin = await startStandin(await makeStandinHome(join(w.dir, 'standin')))
  try {
    const workflow = await inputFile('txt2img.json', txt2imgWorkflow({ steps: 3 }))
    const r = await w.cli(['run-handler', 'not-realized', '--url', standin.url, '--workflow', workflow])
    assert.is(r.code, 0, r.stderr)
    const image = r.json().images[0]
    assert.equal(Buffer.from(image.data, 'base64'), await readFile(join(standin.home, 'output', image.filename)))
    assert.not.ok(existsSync(w.home('not-realized')), 'no home was made')
    assert.not.match(r.stderr, /ComfyUI ready at/, 'no ComfyUI was started')
    assert.ok(await answers(standin.url), 'the running ComfyUI is left running')
  } finally {
    await standin.stop()
  }
}, LIMIT_MS))

H('--url, interrupted by Ctrl-C: exit 130 with the {error} document; the prompt is interrupted and ComfyUI left running', within(async () => {
  const standin = await startStandin(await makeStandinHome(join(w.dir, 'standin-slow')), { STANDIN_STEP_DELAY: '1' })
  try {
    const workflow = await inputFile('slow.json', txt2imgWorkflow({ steps: 20 }))
    const run = follow(w.spawn(['run-handler', 'not-realized', '--url', standin.url, '--workflow', workflow], { detached: true }))
    await run.waitFor('stderr', /KSampler|step|\d+\/20/)
    run.child.kill('SIGINT')
    const exit = await run.exit
    assert.is(exit.code, 130, run.stderr())
    assert.match(JSON.parse(run.stdout()).error, /cancelled/)
    assert.ok(await answers(standin.url), 'the running ComfyUI is left running')
  } finally {
    await standin.stop()
  }
}, LIMIT_MS))

H('a UI-format workflow is refused with how to export the API format (exit 2, nothing started)', within(async () => {
  const ui = { last_node_id: 9, last_link_id: 9, nodes: [{ id: 3, type: 'KSampler' }], links: [[1, 4, 0, 3, 0, 'MODEL']], version: 0.4 }
  const r = await w.cli(['run-handler', ID, '--workflow', await inputFile('ui.json', ui)])
  assert.is(r.code, 2)
  assert.match(r.stderr, /UI-format workflow/)
  assert.match(r.stderr, /Export \(API\)/)
  assert.match(r.json().error, /UI-format workflow/, 'stdout carries the {error, details} document')
  assert.not.match(r.stderr, /ComfyUI ready|realized:/)
}, LIMIT_MS))

H('usage mistakes exit 2 before anything starts', within(async () => {
  const workflow = await inputFile('demo.json', DEMO_WORKFLOW)
  const both = await w.cli(['run-handler', ID, '--workflow', workflow, '--job', workflow])
  assert.is(both.code, 2)
  assert.match(both.stderr, /exactly one of --workflow FILE or --job FILE/)
  const noDir = await w.cli(['run-handler', ID, '--workflow', workflow, '--output', 'files'])
  assert.is(noDir.code, 2)
  assert.match(noDir.stderr, /--output files needs --out-dir/)
  const badImage = await w.cli(['run-handler', ID, '--workflow', workflow, '--image', 'x.png=/nonexistent/x.png'])
  assert.is(badImage.code, 2)
  assert.match(badImage.stderr, /--image x\.png=\/nonexistent\/x\.png: cannot read \(ENOENT\)/)
  const badUrl = await w.cli(['run-handler', ID, '--workflow', workflow, '--url', 'notaurl'])
  assert.is(badUrl.code, 2)
  // Where the result goes is checked before the job runs, not after.
  const outIsDir = await w.cli(['run-handler', ID, '--workflow', workflow, '--out-file', w.dir])
  assert.is(outIsDir.code, 2)
  assert.match(outIsDir.stderr, /--out-file .*: is a folder; give a file name/)
  const dirUnderFile = await w.cli(['run-handler', ID, '--workflow', workflow, '--output', 'files', '--out-dir', `${workflow}/out`])
  assert.is(dirUnderFile.code, 2)
  assert.match(dirUnderFile.stderr, /--out-dir .*demo\.json is a file, not a folder/)
  for (const r of [both, noDir, badImage, badUrl, outIsDir, dirUnderFile]) {
    assert.equal(Object.keys(r.json()), ['error', 'details'], r.stdout)
    assert.not.match(r.stderr, /ComfyUI ready|realized:/)
  }
  const listen = await w.cli(['run-ui', ID, '--listen', 'not an address!'])
  assert.is(listen.code, 2)
  assert.match(listen.stderr, /--listen takes an IP address or a host name/)
  assert.not.match(listen.stderr, /realized:/)
  assert.match(badUrl.json().error, /--url takes http\(s\):\/\/HOST:PORT/)
}, LIMIT_MS))

H('a version that cannot be prepared or realized: the {error, details} document, exit 2 for the spec, 1 for a failure', within(async () => {
  const workflow = await inputFile('demo.json', DEMO_WORKFLOW)
  const missing = await w.cli(['run-handler', 'nosuch', '--workflow', workflow])
  assert.is(missing.code, 2)
  assert.is(missing.json().error, 'the spec of nosuch has problems')
  assert.match(missing.json().details[0], /nosuch\.json: \(root\): no such spec/)
  await w.writeSpec('gone', { schema_version: 2, id: 'gone', comfyui: { repo: `file://${w.dir}/no-such-repo`, ref: 'master' } })
  const failed = await w.cli(['run-handler', 'gone', '--workflow', workflow, '--offline'])
  assert.is(failed.code, 1, failed.stderr)
  assert.match(failed.json().error, /no-such-repo/)
}, LIMIT_MS))

H.run()
