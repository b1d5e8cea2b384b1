import { existsSync } from 'node:fs'
import { basename, delimiter, dirname, join } from 'node:path'
import { err, ok, type Result } from '../result.ts'
import { describeFailure, exec, type ChildEnv } from '../util/exec.ts'
import { redact } from '../util/redact.ts'

export interface InstallScriptOptions {
  /** The node pack's folder; install.py runs there. */
  nodeDir: string
  /** The environment's interpreter: install.py runs with it, and `pip` on PATH is the environment's. */
  venvPython: string
  timeoutMs: number
  signal?: AbortSignal
  /** Each line of the script's output (redacted), for the task log. */
  onLine?: (line: string) => void
  /** The run's environment, which the script starts from (activated: VIRTUAL_ENV, PATH). */
  env: ChildEnv
}

export interface InstallScriptProblem { reason: 'missing' | 'timeout' | 'failed' | 'cancelled'; message: string; details: string[] }

/**
 * Runs a node pack's install.py with the environment's python, in the node's folder, with the
 * environment activated (VIRTUAL_ENV, its bin first on PATH), after dependencies are installed.
 */
export async function runInstallScript(o: InstallScriptOptions): Promise<Result<{ ms: number }, InstallScriptProblem>> {
  const name = basename(o.nodeDir)
  const script = join(o.nodeDir, 'install.py')
  if (!existsSync(script)) {
    return err({ reason: 'missing', message: `${name} has install_script: true but no install.py in ${o.nodeDir}; set install_script to false`, details: [] })
  }
  const bin = dirname(o.venvPython)
  const env: NodeJS.ProcessEnv = { ...o.env, VIRTUAL_ENV: dirname(bin), PATH: [bin, o.env.PATH].filter(Boolean).join(delimiter), PYTHONUNBUFFERED: '1' }
  delete env.PYTHONHOME
  delete env.PYTHONPATH
  const started = Date.now()
  const r = await exec(o.venvPython, ['install.py'], {
    cwd: o.nodeDir, env, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}),
    onLine: line => o.onLine?.(redact(line)),
  })
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-20).map(redact)
  const what = `${name}/install.py`
  if (r.aborted) return err({ reason: 'cancelled', message: `${what} was cancelled`, details: tail })
  if (r.timedOut) return err({ reason: 'timeout', message: `${what} timed out after ${Math.round(o.timeoutMs / 1000)} s`, details: tail })
  if (r.exitCode !== 0 || r.spawnError) return err({ reason: 'failed', message: redact(`${what} ${describeFailure(r)}`), details: tail })
  return ok({ ms: Date.now() - started })
}
