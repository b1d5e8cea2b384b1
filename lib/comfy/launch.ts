import { spawn } from 'node:child_process'
import { access } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { err, ok, type Result } from '../result.ts'
import type { ChildEnv } from '../util/exec.ts'
import { redactSecrets } from '../util/redact.ts'
import { connectHost, probePort } from './port.ts'
import { homeLayout } from '../layout/home.ts'

export interface LaunchOptions {
  /** The realized ComfyUI home: main.py is run from here. */
  home: string
  /** The environment's interpreter, e.g. `<home>/.venv/bin/python`. */
  python: string
  /** `--listen` address; default 127.0.0.1. A comma list (ComfyUI's `0.0.0.0,::`) is checked on its first address. */
  listen?: string
  /** 0 picks a free port. */
  port: number
  /** Extra ComfyUI arguments (the spec's launch.args, then the user's `-- ARGS`). */
  args?: readonly string[]
  /** Merged over `baseEnv` (the spec's launch.env). */
  env?: Record<string, string>
  /** The run's environment, which the child starts from (the CLI's `io.env`). */
  baseEnv: ChildEnv
  /** Aborting stops the server (SIGTERM, then SIGKILL), during startup or later. */
  signal?: AbortSignal
  /** Each line ComfyUI prints, as it arrives. */
  onLog?: (line: string, stream: 'stdout' | 'stderr') => void
  /** How long ComfyUI may take before `/system_stats` answers; default 10 minutes (torch and custom nodes import slowly). */
  startupTimeoutMs?: number
  /** Called every half minute while ComfyUI's process lives and does not answer yet, with the seconds waited. */
  onWaiting?: (waitedS: number) => void
  /** How often `onWaiting` is called; default 30 s. */
  waitingNoteEveryMs?: number
  /** Values hidden from problem messages (tokens in the environment). */
  secrets?: string[]
  /**
   * Its own process group: a signal sent to the tool's group (Ctrl-C, an init relaying SIGTERM) does not reach
   * ComfyUI, which the tool then stops itself (serve drains the jobs in flight first).
   */
  ownProcessGroup?: boolean
}

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A ComfyUI process that answered its readiness probe. */
export interface ComfyServer {
  /** Where a client on this machine reaches it, e.g. `http://127.0.0.1:8188`. */
  url: string
  port: number
  pid: number
  /** Settles when the process has exited (it never rejects). */
  exited: Promise<ExitInfo>
  /** Sends a signal (the CLI forwards SIGINT and SIGTERM through this). */
  kill(signal?: NodeJS.Signals): void
  /** SIGTERM, SIGKILL after `graceMs` (default 10 s); resolves to the exit code (null when killed by a signal). */
  stop(graceMs?: number): Promise<number | null>
  /** The last lines ComfyUI printed (stdout and stderr interleaved). */
  logTail(lines?: number): string[]
}

export type LaunchProblem =
  | { reason: 'no-main'; message: string }
  | { reason: 'bad-args'; message: string }
  | { reason: 'port-in-use'; listen: string; port: number; message: string }
  | { reason: 'port-unavailable'; listen: string; port: number; code: string; message: string }
  | { reason: 'spawn-failed'; message: string }
  | { reason: 'exited'; exit: ExitInfo; logTail: string[]; message: string }
  | { reason: 'startup-timeout'; timeoutMs: number; logTail: string[]; message: string }
  | { reason: 'aborted'; message: string }

const LOG_KEEP = 200
const TAIL_LINES = 20

/** The line run-ui prints once ComfyUI answers. */
export const readyLine = (url: string): string => `ComfyUI ready at ${url}`

/**
 * Starts `<python> main.py --listen <addr> --port <port> ...args` in the home and waits until
 * `GET /system_stats` answers. Fails fast, with the last lines of ComfyUI's log, when the process exits first.
 */
export async function launchComfy(opts: LaunchOptions): Promise<Result<ComfyServer, LaunchProblem>> {
  const listen = opts.listen ?? '127.0.0.1'
  const secrets = opts.secrets ?? []
  const { mainPy } = homeLayout(opts.home)
  if (!(await access(mainPy).then(() => true, () => false))) {
    return err({ reason: 'no-main', message: `${mainPy} does not exist; realize the version first` })
  }
  if (opts.signal?.aborted) return err({ reason: 'aborted', message: 'cancelled before ComfyUI was started' })
  // The tool waits on the address and port it passes; one in the extra arguments would make ComfyUI listen elsewhere.
  const taken = (opts.args ?? []).find(a => /^--(port|listen)(=|$)/.test(a))
  if (taken) {
    const flag = taken.split('=')[0] ?? taken
    return err({ reason: 'bad-args', message: `${flag} in launch.args or after --: ComfyUI would listen where the tool does not wait; set launch.${flag.slice(2)} in the spec or pass ${flag} to the command instead` })
  }

  const bindHost = listen.split(',')[0]?.trim() || '0.0.0.0'
  const probe = await probePort(bindHost, opts.port)
  if (!probe.free) {
    const where = `${bindHost}:${opts.port}`
    return err(probe.code === 'EADDRINUSE'
      ? { reason: 'port-in-use', listen, port: opts.port, message: `port ${opts.port} is already in use on ${bindHost} (another ComfyUI?); choose another with --port, or --port 0 for a free one` }
      : { reason: 'port-unavailable', listen, port: opts.port, code: probe.code, message: `cannot listen on ${where}: ${probe.code}` })
  }
  const port = probe.port
  const url = `http://${connectHost(listen)}:${port}`

  const log: string[] = []
  const logTail = (lines = TAIL_LINES) => log.slice(-lines)
  const tailText = () => logTail().map(l => `  ${redactSecrets(l, secrets)}`).join('\n')

  const child = spawn(opts.python, [...diesWithParent(), 'main.py', '--listen', listen, '--port', String(port), ...(opts.args ?? [])], {
    cwd: opts.home,
    env: { ...opts.baseEnv, PYTHONUNBUFFERED: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: !!opts.ownProcessGroup,
  })
  let spawnError: string | undefined
  const exited = new Promise<ExitInfo>(resolve => {
    child.once('error', e => { spawnError = e.message; resolve({ code: null, signal: null }) })
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
  let exit: ExitInfo | undefined
  void exited.then(e => { exit = e })
  for (const stream of ['stdout', 'stderr'] as const) collectLines(child[stream], line => {
    log.push(line)
    if (log.length > LOG_KEEP) log.splice(0, log.length - LOG_KEEP)
    opts.onLog?.(line, stream)
  })

  const kill = (signal: NodeJS.Signals = 'SIGTERM') => { if (exit === undefined) child.kill(signal) }
  const stop = async (graceMs = 10_000): Promise<number | null> => {
    if (exit === undefined) {
      kill('SIGTERM')
      const timer = setTimeout(() => kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
    return (await exited).code
  }
  const onAbort = () => { void stop(3_000) }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  void exited.then(() => opts.signal?.removeEventListener('abort', onAbort))

  const timeoutMs = opts.startupTimeoutMs ?? 600_000
  const startedAt = Date.now()
  const deadline = startedAt + timeoutMs
  const noteEveryMs = opts.waitingNoteEveryMs ?? WAITING_NOTE_MS
  let nextNote = startedAt + noteEveryMs
  for (;;) {
    if (spawnError !== undefined) {
      return err({ reason: 'spawn-failed', message: `could not start ComfyUI with ${opts.python}: ${spawnError}` })
    }
    if (opts.signal?.aborted) {
      await stop(3_000)
      return err({ reason: 'aborted', message: 'cancelled while ComfyUI was starting' })
    }
    if (exit !== undefined) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
      return err({ reason: 'exited', exit, logTail: logTail(), message: `ComfyUI ${how} before it was ready; the last lines of its log:\n${tailText()}` })
    }
    if (Date.now() > deadline) {
      await stop(3_000)
      return err({ reason: 'startup-timeout', timeoutMs, logTail: logTail(), message: `ComfyUI did not answer on ${url} within ${timeoutMs / 1000} s; the last lines of its log:\n${tailText()}` })
    }
    if (await answers(`${url}/system_stats`)) break
    if (Date.now() >= nextNote) {
      opts.onWaiting?.(Math.round((Date.now() - startedAt) / 1000))
      nextNote += noteEveryMs
    }
    await Promise.race([sleep(200), exited])
  }
  return ok({ url, port, pid: child.pid ?? 0, exited, kill, stop, logTail })
}

// --- internal ---

const WAITING_NOTE_MS = 30_000

/**
 * Arguments that make the interpreter ask Linux to SIGKILL it when the tool dies (prctl PR_SET_PDEATHSIG, which
 * survives the exec into main.py), so a ComfyUI the tool started never outlives it, SIGKILL of the tool included.
 * The parent's pid is checked after the call: a tool that died before it leaves the child to exit at once.
 */
function diesWithParent(): string[] {
  if (process.platform !== 'linux') return []
  const code = [
    'import ctypes, os, signal, sys',
    'ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)',
    `os.getppid() == ${process.pid} or os._exit(1)`,
    'os.execv(sys.executable, [sys.executable] + sys.argv[1:])',
  ].join('\n')
  return ['-c', code]
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await request(url, { signal: AbortSignal.timeout(2_000) })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  }
}

function collectLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n|\r/)
    partial = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) onLine(line)
  })
  stream.on('end', () => { if (partial.trim()) onLine(partial); partial = '' })
}
