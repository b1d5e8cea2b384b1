import { launchComfy, readyLine, type ComfyServer, type LaunchProblem } from '../lib/comfy/launch.ts'
import { homeLayout } from '../lib/layout/home.ts'
import { venvPython } from '../lib/python/interpreter.ts'
import type { Prepared } from '../lib/pipeline/prepare.ts'
import type { TaskResult } from '../lib/engine/results.ts'
import type { Io } from './_cli.ts'

/** Kinds whose work ComfyUI does not load at start: a run of only these needs no restart. */
const NO_RESTART = new Set(['fetch-model', 'link', 'collect-deps', 'uv-compile'])

/** Whether a task that ran changed something ComfyUI loads when it starts (core, nodes, Python). */
export const loadedAtStart = (task: TaskResult): boolean => task.status === 'ran' && !NO_RESTART.has(task.kind)

export interface LaunchFlags { port?: number; listen?: string; extraArgs: string[]; secrets: string[]; startupTimeoutS?: number; ownProcessGroup?: boolean }

/** Credentials the tool uses and ComfyUI never needs: its custom nodes do not get to read them. */
const WORKER_SECRETS = ['RUNPOD_AI_API_KEY', 'BUCKET_ACCESS_KEY_ID', 'BUCKET_SECRET_ACCESS_KEY']

const withoutWorkerSecrets = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !WORKER_SECRETS.includes(k)))

/** Starts the realized version's ComfyUI with its environment's python, the spec's launch settings and the flags. */
export async function launchVersion(io: Io, prepared: Prepared, flags: LaunchFlags, signal: AbortSignal, quietLog = false) {
  const launch = prepared.spec.launch
  return launchComfy({
    home: prepared.home,
    python: venvPython(homeLayout(prepared.home).venv),
    listen: flags.listen ?? launch.listen,
    port: flags.port ?? launch.port,
    args: [...launch.args, ...flags.extraArgs],
    env: launch.env,
    baseEnv: withoutWorkerSecrets(io.env),
    signal,
    secrets: flags.secrets,
    ownProcessGroup: flags.ownProcessGroup,
    startupTimeoutMs: (flags.startupTimeoutS ?? launch.startup_timeout_s) * 1000,
    onWaiting: s => io.err(`ComfyUI is still starting (${s} s; it may take up to ${flags.startupTimeoutS ?? launch.startup_timeout_s} s, launch.startup_timeout_s)`),
    onLog: quietLog ? undefined : line => io.err(line),
  })
}

/**
 * Starts ComfyUI for a command that runs it in the foreground. The user's Ctrl-C / SIGTERM (or `opts.signal`)
 * during the start, which may take minutes, stops it; once it is up, the caller forwards signals instead.
 */
export async function launchForeground(io: Io, prepared: Prepared, flags: LaunchFlags, opts: { quietLog?: boolean; signal?: AbortSignal } = {}) {
  const signal = opts.signal ?? io.signal
  const starting = new AbortController()
  const cancel = () => starting.abort()
  if (signal.aborted) cancel()
  signal.addEventListener('abort', cancel, { once: true })
  try {
    return await launchVersion(io, prepared, flags, starting.signal, opts.quietLog)
  } finally {
    signal.removeEventListener('abort', cancel)
  }
}

/** How long ComfyUI may take to exit on a SIGINT that reached it directly before it is sent ours as well. */
const OWN_SIGINT_GRACE_MS = 3_000

/**
 * Passes the user's signal on to ComfyUI, once. A SIGINT has usually reached ComfyUI already: a Ctrl-C typed in a
 * terminal goes to the whole foreground process group, and so does the SIGINT of `kill -INT -<pgid>` or of an init
 * such as dumb-init; a second SIGINT while Python shuts down kills it (exit 130, at times with a traceback). So
 * ComfyUI gets a moment to exit on its own first, and only then is sent ours.
 */
export function forwardSignal(server: ComfyServer, signal: NodeJS.Signals): void {
  if (signal !== 'SIGINT') { server.kill(signal); return }
  const timer = setTimeout(() => server.kill(signal), OWN_SIGINT_GRACE_MS)
  void server.exited.then(() => clearTimeout(timer))
}

/** The readiness line on stdout (stderr when stdout carries --json). */
export function announceReady(io: Io, server: ComfyServer, json: boolean): void {
  const line = readyLine(server.url)
  if (json) io.err(line)
  else io.out(`${line}\n`)
}

/** 128 + the signal's number, as shells report a child killed by a signal. */
export function exitCodeOfSignal(sig: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }
  return 128 + (sig ? numbers[sig] ?? 0 : 0)
}

/** A failed start's facts for the `launch` row: the error, and ComfyUI's own exit code when it exited before it was ready. */
export const failedLaunchFacts = (problem: LaunchProblem): { error: string; exit_code?: number } =>
  problem.reason === 'exited'
    ? { error: problem.message, exit_code: problem.exit.code ?? exitCodeOfSignal(problem.exit.signal) }
    : { error: problem.message }

/** The signal the user sent us (the abort reason set in tasks/index.ts), to forward to ComfyUI. */
export const receivedSignal = (signal: AbortSignal): NodeJS.Signals =>
  (signal.reason instanceof Error && /^SIG[A-Z]+$/.test(signal.reason.message) ? signal.reason.message : 'SIGTERM') as NodeJS.Signals

/** Keeps a server in the foreground until it exits or the user interrupts (then it is stopped by the caller). */
export async function forwardIfKept(io: Io, server: ComfyServer): Promise<void> {
  await Promise.race([server.exited, new Promise<void>(r => io.signal.addEventListener('abort', () => r(), { once: true }))])
}
