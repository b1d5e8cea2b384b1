import { spawn } from 'node:child_process'
import { withoutCredentials } from './child-env.ts'
import { RUN_MARKER_VAR, runMarker, unwatchGroup, watchGroup } from './child-watch.ts'

/** The environment a child starts with: the run's (a task's `processEnv`, the CLI's `io.env`), never read here. */
export type ChildEnv = Readonly<Record<string, string | undefined>>

export interface ExecOptions {
  cwd?: string
  /** Required: lib/ never reads the process's environment; the caller hands over the one of its run. */
  env: ChildEnv
  /** Aborting kills the child and every process it started (SIGTERM, then SIGKILL after a grace period). */
  signal?: AbortSignal
  /** Kills the child after this many milliseconds; the result says `timedOut`. */
  timeoutMs?: number
  /** Called with each complete line of stdout and stderr as it arrives (for progress output). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  input?: string
}

export interface ExecResult {
  command: string
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  aborted: boolean
  /** Set when the program could not be started at all (ENOENT and the like). */
  spawnError?: string
}

/** Runs a program without a shell and reports how it ended; it never throws for a failed command. */
export function exec(file: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  return new Promise(resolve => {
    const command = [file, ...args].join(' ')
    const result: ExecResult = { command, exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: false }
    if (opts.signal?.aborted) { result.aborted = true; resolve(result); return }
    // In a process group of its own, so that stopping it stops what it started too (python -m venv runs ensurepip,
    // which runs pip): none of them may go on writing into the home after the command says it was interrupted.
    // The marker and the watchdog's registration make the group die with the tool, SIGKILL included (child-watch.ts).
    // Tokens the tool sends itself never reach a child (child-env.ts).
    const env = { ...withoutCredentials(opts.env), [RUN_MARKER_VAR]: runMarker() }
    const child = spawn(file, args, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    if (child.pid) watchGroup(child.pid)
    const signalGroup = (sig: NodeJS.Signals) => {
      try { process.kill(-child.pid!, sig) } catch { child.kill(sig) }
    }
    let killTimer: NodeJS.Timeout | undefined
    const kill = () => {
      signalGroup('SIGTERM')
      killTimer = setTimeout(() => signalGroup('SIGKILL'), 3_000)
      killTimer.unref()
    }
    const onAbort = () => { result.aborted = true; kill() }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const timer = opts.timeoutMs ? setTimeout(() => { result.timedOut = true; kill() }, opts.timeoutMs) : undefined
    const partial = { stdout: '', stderr: '' }
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8')
      child[stream].on('data', (chunk: string) => {
        result[stream] += chunk
        if (!opts.onLine) return
        const text = partial[stream] + chunk
        const lines = text.split(/\r?\n|\r/)
        partial[stream] = lines.pop() ?? ''
        for (const line of lines) if (line) opts.onLine(line, stream)
      })
    }
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
    child.on('error', e => { result.spawnError = e.message })
    child.on('close', (code, sig) => {
      if (child.pid) unwatchGroup(child.pid)
      if (timer) clearTimeout(timer)
      if (killTimer) clearTimeout(killTimer)
      opts.signal?.removeEventListener('abort', onAbort)
      if (opts.onLine) for (const s of ['stdout', 'stderr'] as const) if (partial[s]) opts.onLine(partial[s], s)
      result.exitCode = code
      result.signal = sig
      resolve(result)
    })
  })
}

/** A one-line description of how a command failed, with the tail of its error output. */
export function describeFailure(r: ExecResult, tailLines = 12): string {
  const how = r.spawnError ? `could not start: ${r.spawnError}`
    : r.timedOut ? 'timed out'
    : r.aborted ? 'was cancelled'
    : r.signal ? `was killed with ${r.signal}`
    : `failed with exit code ${r.exitCode}`
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-tailLines).join('\n')
  return tail ? `${how}:\n${tail}` : how
}

export const succeeded = (r: ExecResult): boolean => r.exitCode === 0 && !r.spawnError && !r.aborted && !r.timedOut
