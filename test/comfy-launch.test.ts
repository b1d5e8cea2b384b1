import { createServer, type Server } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'undici'
import { launchComfy, readyLine } from '../lib/comfy/launch.ts'
import { probePort } from '../lib/comfy/port.ts'
import { makeStandinHome } from './helpers/comfy-standin.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'
import { comfyProcesses } from './helpers/comfy-processes.ts'

const L = suite('comfy launch')
let tmp = ''
let home = ''

L.before(guarded(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comfy-launch-'))
  home = await makeStandinHome(join(tmp, 'home'))
}))
L.after(guarded(async () => {
  await rm(tmp, { recursive: true, force: true })
}))

/** The ComfyUI processes left running in the test's home. */
const leftRunning = () => comfyProcesses().filter(p => p.cwd === home).map(p => p.pid)

/** Resolves with the first line ComfyUI prints that matches `re`, as `onLog` sees it. */
function logWatch(re: RegExp): { onLog: (line: string) => void; lines: string[]; seen: Promise<string> } {
  const lines: string[] = []
  let found!: (line: string) => void
  const seen = new Promise<string>(resolve => { found = resolve })
  return { lines, seen, onLog: line => { lines.push(line); if (re.test(line)) found(line) } }
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await request(url)
  const text = await res.body.text()
  return { status: res.statusCode, body: JSON.parse(text) }
}

L('starts on a free port, answers /system_stats, passes extra args, and stops', within(async () => {
  const log = logWatch(/^To see the GUI go to: /)
  const { lines } = log
  const launched = await launchComfy({
    home, baseEnv: process.env, python: 'python3', port: 0, args: ['--cpu', '--some-future-flag'], startupTimeoutMs: 20_000, onLog: log.onLog,
  })
  if (!launched.ok) throw new Error(launched.error.message)
  const server = launched.value
  try {
    assert.ok(server.port > 0)
    assert.is(server.url, `http://127.0.0.1:${server.port}`)
    assert.is(readyLine(server.url), `ComfyUI ready at http://127.0.0.1:${server.port}`)
    const stats = await getJson(`${server.url}/system_stats`)
    assert.is(stats.status, 200)
    assert.match(stats.body.system.comfyui_version, /standin/)
    // Printed before it listens, but its pipe may be read after the answer to the probe: awaited, not looked up.
    assert.is(await log.seen, `To see the GUI go to: http://127.0.0.1:${server.port}`)
    assert.ok(lines.some(l => l.includes('Ignoring unrecognized arguments: --some-future-flag')))
    assert.equal(server.logTail(200), lines.slice(-200))
  } finally {
    await server.stop()
  }
  const exit = await server.exited
  assert.is(exit.signal, 'SIGTERM')
  assert.ok((await probePort('127.0.0.1', server.port)).free, 'the port is free again')
}))

L('two launches on port 0 get different ports', within(async () => {
  const a = await launchComfy({ home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 20_000 })
  const b = await launchComfy({ home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 20_000 })
  try {
    if (!a.ok || !b.ok) throw new Error('launch failed')
    assert.is.not(a.value.port, b.value.port)
    assert.is((await getJson(`${b.value.url}/system_stats`)).status, 200)
  } finally {
    if (a.ok) await a.value.stop()
    if (b.ok) await b.value.stop()
  }
}))

L('SIGINT ends ComfyUI cleanly with exit code 0', within(async () => {
  const launched = await launchComfy({ home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 20_000 })
  if (!launched.ok) throw new Error(launched.error.message)
  launched.value.kill('SIGINT')
  assert.equal(await launched.value.exited, { code: 0, signal: null })
  assert.ok(launched.value.logTail().includes('Stopped server'))
  assert.is(await launched.value.stop(), 0)
}))

L('a process that exits at startup fails fast with the tail of its log', within(async () => {
  const launched = await launchComfy({
    home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 60_000,
    env: { STANDIN_STARTUP_ERROR: 'No module named torch' },
  })
  assert.not.ok(launched.ok)
  if (launched.ok) return
  const problem = launched.error
  assert.is(problem.reason, 'exited')
  assert.match(problem.message, /^ComfyUI exited with code 1 before it was ready; the last lines of its log:\n/)
  assert.match(problem.message, /RuntimeError: No module named torch/)
  if (problem.reason === 'exited') {
    assert.equal(problem.exit, { code: 1, signal: null })
    assert.is(problem.logTail.at(-1), 'RuntimeError: No module named torch')
  }
}))

L('a port in use is a clear error that names it', within(async () => {
  const blocker: Server = createServer()
  await new Promise<void>(r => blocker.listen(0, '127.0.0.1', () => r()))
  const address = blocker.address()
  const port = typeof address === 'object' && address ? address.port : 0
  try {
    const launched = await launchComfy({ home, baseEnv: process.env, python: 'python3', port })
    assert.not.ok(launched.ok)
    if (launched.ok) return
    assert.is(launched.error.reason, 'port-in-use')
    assert.match(launched.error.message, new RegExp(`^port ${port} is already in use on 127\\.0\\.0\\.1`))
    assert.match(launched.error.message, /--port 0/)
  } finally {
    await new Promise<void>(r => blocker.close(() => r()))
  }
}))

L('a startup that takes too long is stopped with a timeout error', within(async () => {
  const log = logWatch(/^Device: cpu/)
  // The deadline runs from the spawn and nothing here can hold it back, so it must outlast Python's start on a
  // loaded machine (over 0.5 s seen) for the log tail to have its lines. A clock the test could move would let it
  // be short (see the report of this change).
  const launched = await launchComfy({
    home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 5_000, env: { STANDIN_STARTUP_DELAY: '30' }, onLog: log.onLog,
  })
  assert.not.ok(launched.ok)
  if (launched.ok) return
  assert.is(launched.error.reason, 'startup-timeout')
  assert.match(launched.error.message, /did not answer on http:\/\/127\.0\.0\.1:\d+ within 5 s; the last lines of its log:\n/)
  assert.match(launched.error.message, /\n {2}Device: cpu/)
  if (launched.error.reason === 'startup-timeout') assert.equal(launched.error.logTail, log.lines.slice(-20))
  assert.equal(leftRunning(), [], 'ComfyUI was stopped')
}))

L('while ComfyUI starts slowly the wait is told, until the startup timeout', within(async () => {
  const waited: number[] = []
  const launched = await launchComfy({
    home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 5_000, waitingNoteEveryMs: 1_000,
    env: { STANDIN_STARTUP_DELAY: '30' }, onWaiting: s => waited.push(s),
  })
  assert.is(launched.ok ? '' : launched.error.reason, 'startup-timeout')
  assert.ok(waited.length >= 2 && waited.every((s, i) => s >= i + 1), `notes at ${waited.join(', ')} s`)
  assert.equal(leftRunning(), [])
}))

L('a --port or --listen in the extra arguments is refused: the tool would wait on another port', within(async () => {
  for (const args of [['--port', '9999'], ['--listen=0.0.0.0']]) {
    const launched = await launchComfy({ home, baseEnv: process.env, python: 'python3', port: 0, args })
    assert.is(launched.ok ? '' : launched.error.reason, 'bad-args')
    assert.match(launched.ok ? '' : launched.error.message, /^--(port|listen) in launch\.args or after --: ComfyUI would listen where the tool does not wait; set launch\.(port|listen) in the spec or pass --(port|listen) to the command instead$/)
  }
  assert.equal(leftRunning(), [])
}))

L('aborting while ComfyUI starts stops it', within(async () => {
  const ctl = new AbortController()
  // Aborted once it has started (it logs its path, then sleeps before it listens), not at a time that may come first.
  const log = logWatch(/^\*\* ComfyUI Path:/)
  void log.seen.then(() => ctl.abort())
  const launched = await launchComfy({
    home, baseEnv: process.env, python: 'python3', port: 0, signal: ctl.signal, env: { STANDIN_STARTUP_DELAY: '30' }, onLog: log.onLog,
  })
  assert.not.ok(launched.ok)
  if (launched.ok) return
  assert.is(launched.error.reason, 'aborted')
  assert.is(launched.error.message, 'cancelled while ComfyUI was starting')
  assert.equal(leftRunning(), [], 'ComfyUI was stopped')
}))

L('a home without main.py and a missing interpreter are clear errors', within(async () => {
  const empty = await launchComfy({ home: join(tmp, 'nowhere'), baseEnv: process.env, python: 'python3', port: 0 })
  assert.not.ok(empty.ok)
  if (!empty.ok) {
    assert.is(empty.error.reason, 'no-main')
    assert.match(empty.error.message, /main\.py does not exist; realize the version first/)
  }
  const noPython = await launchComfy({ home, baseEnv: process.env, python: join(tmp, 'venv', 'bin', 'python'), port: 0 })
  assert.not.ok(noPython.ok)
  if (!noPython.ok) {
    assert.is(noPython.error.reason, 'spawn-failed')
    assert.match(noPython.error.message, /could not start ComfyUI with .*venv\/bin\/python: .*ENOENT/)
  }
}))

L.run()
