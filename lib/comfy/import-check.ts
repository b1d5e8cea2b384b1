import { err, ok, type Result } from '../result.ts'
import { exec, type ChildEnv } from '../util/exec.ts'
import { parseImportLog, type ImportLog } from './import-log.ts'

export interface ImportCheckOptions {
  home: string
  /** The environment's interpreter. */
  python: string
  /** The spec's launch.args (device flags such as --cpu apply to the imports too). */
  args: readonly string[]
  /** The spec's launch.env, over `baseEnv`. */
  env: Record<string, string>
  baseEnv: ChildEnv
  signal: AbortSignal
  timeoutMs: number
}

/** How many of ComfyUI's last lines a crash keeps. */
const TAIL_LINES = 8

/**
 * Starts ComfyUI once with `--quick-test-for-ci` (it imports every custom node, then exits 0 whatever failed: the
 * log is the only report) and reads which custom nodes failed. A non-zero exit means ComfyUI itself stopped before
 * it got that far (a pack raising SystemExit, a broken core): a problem with the log's last lines.
 */
export async function checkImports(o: ImportCheckOptions): Promise<Result<ImportLog, { message: string; tail: string[] }>> {
  const r = await exec(o.python, ['main.py', '--quick-test-for-ci', ...o.args], {
    cwd: o.home, env: { ...o.baseEnv, PYTHONUNBUFFERED: '1', ...o.env }, signal: o.signal, timeoutMs: o.timeoutMs,
  })
  // ComfyUI logs to stderr unless --log-stdout; read both.
  const log = `${r.stderr}\n${r.stdout}`
  if (r.exitCode === 0) return ok(parseImportLog(log))
  const how = r.spawnError ? `could not be started (${r.spawnError})`
    : r.timedOut ? `did not finish its imports in ${Math.round(o.timeoutMs / 1000)} s (launch.startup_timeout_s)`
    : r.aborted ? 'was interrupted' : `exited with ${r.exitCode ?? r.signal} before its imports finished`
  return err({ message: `ComfyUI ${how}`, tail: log.split('\n').filter(l => l.trim()).slice(-TAIL_LINES) })
}
