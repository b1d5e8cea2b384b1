import type { StepOptions } from './step-options.ts'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cacheLayout } from '../layout/cache.ts'
import { makeWorkDir } from '../util/atomic.ts'
import type { PythonRules } from '../spec/schema.ts'
import { err, ok, type Result } from '../result.ts'
import { describeFailure, exec, type ExecResult } from '../util/exec.ts'
import { redact } from '../util/redact.ts'
import { backendEnv, missingPipHint, type Backend } from './backend.ts'
import type { CollectedDeps } from './collect.ts'
import type { FailureClass } from './failure-class.ts'
import { describeResolverFailure } from './failure-message.ts'
import { indexArgs, indexEnv, indexOptions, type IndexOptions } from './indexes.ts'
import { leading, parseLockPins } from './lock-file.ts'
import { normalizeName } from './pep440.ts'

export type InstallRules = Partial<Pick<PythonRules, 'index_url' | 'extra_index_urls' | 'find_links' | 'torch_backend' | 'index_strategy'>>

export interface InstallOptions extends StepOptions {
  /** A pinned requirements file (from {@link compile}). */
  lockPath: string
  backend: Backend
  venvPython: string
  rules: InstallRules
  /** The node packs' index URLs (the pinned packages may only exist there), and who asked for what. */
  collected?: Pick<CollectedDeps, 'indexUrls' | 'extraIndexUrls'> & Partial<Pick<CollectedDeps, 'sources' | 'constraintSources' | 'indexSources'>>
  baseDir?: string
  /** Kept distributions (protected, or the base's): left out of what is installed, and constraints of it. */
  provided?: readonly { name: string; version: string }[]
}

export interface InstallSummary {
  /** `name==version` of what this run installed or changed. */
  installed: string[]
  /** Pins that were already satisfied. */
  unchanged: string[]
}

export interface InstallProblem {
  reason: 'timeout' | 'failed' | 'cancelled'
  /** What the installer's output says happened (see classifyFailure). */
  class?: FailureClass
  message: string
  details: string[]
}

/** `uv pip install -r` arguments (after the uv command). Never `sync`: nothing outside the lock is removed. */
export function uvInstallArgs(p: { requirements: string; python: string; index: IndexOptions; torchBackend?: string | null; constraints?: string; indexStrategy?: string | null }): string[] {
  return [
    'pip', 'install', '-r', p.requirements, '--python', p.python,
    ...(p.constraints ? ['--constraint', p.constraints] : []),
    ...indexArgs(p.index, 'uv'),
    ...(p.torchBackend ? ['--torch-backend', p.torchBackend] : []),
    // The lock's pins were found with this strategy; with uv's default an index listed first could lack them.
    ...(p.indexStrategy ? ['--index-strategy', p.indexStrategy] : []),
  ]
}

/** `pip install -r` arguments (after `python -m pip`). */
export function pipInstallArgs(p: { requirements: string; index: IndexOptions; constraints?: string }): string[] {
  return [
    'install', '-r', p.requirements,
    ...(p.constraints ? ['-c', p.constraints] : []),
    ...indexArgs(p.index, 'pip'),
    '--progress-bar', 'off', '--no-input', '--disable-pip-version-check',
  ]
}

/**
 * Installs a lock into the environment, additively (`pip install -r` / `uv pip install -r`,
 * never `sync`, so torch and anything else outside the lock stays). Both resolve and download
 * everything before they change the environment, so a failure leaves the previous packages in
 * place; this function writes no marker either way.
 */
export async function installLock(o: InstallOptions): Promise<Result<InstallSummary, InstallProblem>> {
  const lockText = await readFile(o.lockPath, 'utf8').catch(() => undefined)
  if (lockText === undefined) return err({ reason: 'failed', message: `the lock file ${o.lockPath} is missing; run uv-compile again`, details: [] })
  const pins = parseLockPins(lockText)
  if (!pins.length) return ok({ installed: [], unchanged: [] })
  const kept = new Map((o.provided ?? []).map(p => [p.name, p.version]))
  if (!kept.size) {
    const r = await runInstaller(o, o.lockPath)
    if (!r.ok) return r
    return ok(summarize(r.value, pins))
  }
  // A kept build may be on no index (torch 2.5.0+cu124 of an image): it is not asked for, only held where it is.
  const toInstall = pins.filter(p => !kept.has(normalizeName(leading(p))))
  if (!toInstall.length) return ok({ installed: [], unchanged: pins })
  const work = await makeWorkDir(cacheLayout(o.cacheRoot).tmp, 'install-')
  try {
    const requirements = join(work, 'requirements.txt'), constraints = join(work, 'kept.txt')
    await writeFile(requirements, `${toInstall.join('\n')}\n`)
    await writeFile(constraints, [...kept].map(([n, v]) => `${n}==${v}\n`).join(''))
    const r = await runInstaller(o, requirements, constraints)
    if (!r.ok) return r
    return ok(summarize(r.value, pins))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** Runs one `install -r <file>` with the backend; shared with the per-node fallback. */
export async function runInstaller(o: Omit<InstallOptions, 'lockPath'>, requirements: string, constraints?: string): Promise<Result<ExecResult, InstallProblem>> {
  const index = indexOptions(o.rules, o.collected, { offline: o.offline, ...(o.baseDir ? { baseDir: o.baseDir } : {}) })
  const args = o.backend.kind === 'uv'
    ? uvInstallArgs({ requirements, python: o.venvPython, index, torchBackend: o.rules.torch_backend ?? null, indexStrategy: o.rules.index_strategy ?? null, ...(constraints ? { constraints } : {}) })
    : pipInstallArgs({ requirements, index, ...(constraints ? { constraints } : {}) })
  const [file, ...pre] = o.backend.command
  const r = await exec(file!, [...pre, ...args], {
    env: { ...backendEnv(o.env, o.cacheRoot), ...indexEnv(index, o.backend.kind, o.index) }, timeoutMs: o.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}), onLine: line => o.onLine?.(redact(line)),
  })
  const what = `installing Python packages with ${o.backend.label}`
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-20).map(redact)
  if (r.aborted) return err({ reason: 'cancelled', message: `${what} was cancelled`, details: tail })
  if (r.timedOut) return err({ reason: 'timeout', message: `${what} timed out after ${Math.round(o.timeoutMs / 1000)} s (raise timeouts.install_s in cache.config.ts)`, details: tail })
  if (r.spawnError) return err({ reason: 'failed', message: redact(`${what} ${describeFailure(r)}`), details: tail })
  if (r.exitCode !== 0) {
    const c = o.collected
    const d = describeResolverFailure({
      text: `${r.stderr}\n${r.stdout}`, offline: o.offline, what: `${what} ${describeFailure(r)}${missingPipHint(o.backend, r.stderr)}`, tail,
      ...(c?.sources && c.constraintSources ? { collected: { sources: c.sources, constraintSources: c.constraintSources, ...(c.indexSources ? { indexSources: c.indexSources } : {}) } } : {}),
    })
    return err({ reason: 'failed', class: d.class, message: d.message, details: d.details })
  }
  return ok(r)
}

/** What an install run changed: pip's "Successfully installed a-1.0 b-2.0", uv's " + a==1.0" lines. */
export function parseInstalled(output: string): string[] {
  const out: string[] = []
  for (const line of output.split(/\r?\n/)) {
    const pip = /^Successfully installed (.+)$/.exec(line.trim())
    if (pip) {
      for (const item of pip[1]!.trim().split(/\s+/)) {
        const cut = item.lastIndexOf('-')
        out.push(cut > 0 ? `${item.slice(0, cut)}==${item.slice(cut + 1)}` : item)
      }
      continue
    }
    const uv = /^\s*[+~] (\S+?)(?:==(\S+))?(?:\s|$)/.exec(line)
    if (uv) out.push(uv[2] ? `${uv[1]}==${uv[2]}` : uv[1]!)
  }
  return out
}

// --- internal ---

function summarize(r: ExecResult, pins: string[]): InstallSummary {
  const installed = [...new Set(parseInstalled(`${r.stdout}\n${r.stderr}`))]
  const names = new Set(installed.map(p => normalizeName(leading(p))))
  return { installed, unchanged: pins.filter(p => !names.has(normalizeName(leading(p)))) }
}
