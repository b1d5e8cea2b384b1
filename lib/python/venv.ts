import type { StepOptions } from './step-options.ts'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { err, ok, type Result } from '../result.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { describeFailure, exec } from '../util/exec.ts'
import { redact } from '../util/redact.ts'
import { backendEnv, type Backend } from './backend.ts'
import { discoverInterpreter, readVenv, type Interpreter } from './interpreter.ts'

import { readVenvMarker, VENV_MARKER, type VenvMarker } from './venv-marker.ts'

export { VENV_MARKER }

export interface VenvOptions extends StepOptions {
  venvDir: string
  /** The spec's `python.version` ("3.11"); undefined takes `python3`. */
  version?: string
  /** uv creates with `uv venv`; otherwise the interpreter's own `-m venv` (with pip). */
  backend: Pick<Backend, 'kind' | 'command'>
  envPATH: string
  /** `python.system_site_packages`: the environment sees the base interpreter's packages. */
  systemSitePackages?: boolean
}

export interface VenvResult {
  python: string
  version: string | undefined
  fullVersion?: string
  /** The interpreter it was made from (undefined when uv found or fetched one itself). */
  interpreter?: Interpreter
  /** False when a complete environment from the same interpreter was already there. */
  created: boolean
}

export interface VenvProblem { reason: 'no-interpreter' | 'not-a-venv' | 'failed' | 'timeout' | 'cancelled'; message: string; details: string[] }

type Marker = VenvMarker

/**
 * Makes the version's Python environment: `uv venv --python <interpreter>` where uv is the
 * backend, else `python3.X -m venv`. An environment that is complete (marker present) and made
 * from the same interpreter and minor version is kept with its packages; a half-made one (killed
 * mid-way, no marker) or one from another interpreter is made again. A folder that is not a
 * Python environment is never deleted.
 */
export async function createVenv(o: VenvOptions): Promise<Result<VenvResult, VenvProblem>> {
  const found = discoverInterpreter(o.version, o.envPATH)
  if (!found.ok && o.backend.kind !== 'uv') return err({ reason: 'no-interpreter', message: found.error, details: [] })
  const interp = found.ok ? found.value : undefined
  const existing = readVenv(o.venvDir)
  const marker = readVenvMarker(o.venvDir)
  const same = interp
    ? marker?.realpath === interp.realpath && marker.version === (interp.version ?? null)
    : !o.version || existing?.version === o.version
  if (existing && marker && same) {
    // The one setting an environment can change in place: venv reads it from pyvenv.cfg at every start.
    if (!!existing.systemSitePackages !== !!o.systemSitePackages) await setSystemSitePackages(o.venvDir, !!o.systemSitePackages)
    return ok({ python: existing.python, version: existing.version, ...(existing.fullVersion ? { fullVersion: existing.fullVersion } : {}), ...(interp ? { interpreter: interp } : {}), created: false })
  }
  // Present from before the tool touches the folder until the environment is complete: a folder left by a run
  // killed while making or deleting it (no pyvenv.cfg any more, say) is then known to be the tool's own.
  const making = `${o.venvDir}.comfy-vc-making`
  const ours = existsSync(making)
  const noteMaking = async () => { await mkdir(dirname(making), { recursive: true }); await writeFile(making, '') }
  if (existsSync(o.venvDir)) {
    const isVenv = existsSync(join(o.venvDir, 'pyvenv.cfg'))
    if (!isVenv && !ours && readdirSync(o.venvDir).length) {
      return err({ reason: 'not-a-venv', message: `${o.venvDir} exists and is not a Python environment; move it away so the environment can be made there`, details: [] })
    }
    o.onLine?.(marker ? `the environment was made from another interpreter; making it again with ${interp?.path ?? `Python ${o.version}`}`
      : isVenv || ours ? 'the environment was left half-made; making it again' : `making the environment in ${o.venvDir}`)
    await noteMaking()
    await rm(o.venvDir, { recursive: true, force: true })
  }
  await noteMaking()
  const [file, ...pre] = o.backend.kind === 'uv' ? o.backend.command : [interp!.path]
  const args = o.backend.kind === 'uv'
    ? uvVenvArgs({ pre, venvDir: o.venvDir, python: interp?.path ?? o.version ?? 'python3', offline: o.offline, systemSitePackages: !!o.systemSitePackages })
    : ['-m', 'venv', ...(o.systemSitePackages ? ['--system-site-packages'] : []), o.venvDir]
  const r = await exec(file!, args, {
    env: backendEnv(o.env, o.cacheRoot), timeoutMs: o.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}), onLine: line => o.onLine?.(redact(line)),
  })
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-20).map(redact)
  const made = readVenv(o.venvDir)
  if (r.aborted || r.timedOut || r.exitCode !== 0 || r.spawnError || !made) {
    // Leave nothing that looks finished; the next run makes it again.
    await rm(o.venvDir, { recursive: true, force: true })
    const what = `making the Python environment with ${[file, ...args].join(' ')}`
    if (r.aborted) return err({ reason: 'cancelled', message: `${what} was cancelled`, details: tail })
    if (r.timedOut) return err({ reason: 'timeout', message: `${what} timed out after ${Math.round(o.timeoutMs / 1000)} s`, details: tail })
    const why = r.exitCode === 0 && !r.spawnError ? 'left no pyvenv.cfg or python' : describeFailure(r)
    const hint = !found.ok ? ` (${found.error})` : ''
    return err({ reason: 'failed', message: redact(`${what} ${why}${hint}`), details: tail })
  }
  const m: Marker = { realpath: interp?.realpath ?? null, version: interp?.version ?? made.version ?? null, backend: o.backend.kind }
  await writeFileAtomic(join(o.venvDir, VENV_MARKER), `${JSON.stringify(m)}\n`)
  await rm(making, { force: true })
  return ok({ python: made.python, version: made.version, ...(made.fullVersion ? { fullVersion: made.fullVersion } : {}), ...(interp ? { interpreter: interp } : {}), created: true })
}

/**
 * `uv venv` arguments (after the uv command): `--seed` puts pip in the environment, as `python -m venv` does, so a
 * node's install.py that runs `python -m pip` works whichever backend made it.
 */
export function uvVenvArgs(p: { pre?: string[]; venvDir: string; python: string; offline: boolean; systemSitePackages: boolean }): string[] {
  return [...(p.pre ?? []), 'venv', p.venvDir, '--python', p.python, '--seed', ...(p.systemSitePackages ? ['--system-site-packages'] : []), ...(p.offline ? ['--offline'] : [])]
}

// --- internal ---

async function setSystemSitePackages(venvDir: string, on: boolean): Promise<void> {
  const file = join(venvDir, 'pyvenv.cfg')
  const text = readFileSync(file, 'utf8')
  const line = `include-system-site-packages = ${on ? 'true' : 'false'}`
  const next = /^\s*include-system-site-packages\s*=.*$/m.test(text) ? text.replace(/^\s*include-system-site-packages\s*=.*$/m, line) : `${text.replace(/\n?$/, '\n')}${line}\n`
  await writeFileAtomic(file, next)
}
