import type { StepOptions } from './step-options.ts'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cacheLayout } from '../layout/cache.ts'
import type { PythonRules } from '../spec/schema.ts'
import { err, ok, type Result } from '../result.ts'
import { makeWorkDir, writeFileAtomic } from '../util/atomic.ts'
import { describeFailure, exec, type ExecResult } from '../util/exec.ts'
import { canonicalJson, sha256 } from '../util/hash.ts'
import { redact } from '../util/redact.ts'
import { ambientKey, backendEnv, missingPipHint, type Backend } from './backend.ts'
import type { Distribution } from './distributions.ts'
import { normalizeName } from './pep440.ts'
import { decideProvided, violationMessage, withProvided, type ProvidedDist } from './protect.ts'
import { writeStubWheels } from './stub-wheel.ts'
import { renderConstraints, renderRequirementsIn, requirementLines, type CollectedDeps } from './collect.ts'
import type { FailureClass } from './failure-class.ts'
import { describeResolverFailure } from './failure-message.ts'
import { ambientIndexNotes } from './ambient.ts'
import { FAILURE_TEXT } from './failure-class.ts'
import { deadIndexes } from './probe-index.ts'
import { indexArgs, indexEnv, indexOptions, type IndexOptions } from './indexes.ts'
import { leading, parseLockPins, pinsFromPipReport } from './lock-file.ts'

/** Bumped when the lock format or how it is made changes, so old cache entries are not reused. */
const COMPILE_SCHEMA = 2

export type CompileRules = Partial<Pick<PythonRules, 'index_url' | 'extra_index_urls' | 'find_links' | 'torch_backend' | 'exclude_newer' | 'index_strategy' | 'protect' | 'requirements'>>

export interface CompileOptions extends StepOptions {
  collected: CollectedDeps
  rules: CompileRules
  backend: Backend
  /** The environment's interpreter: pip runs with it, uv resolves for it (`--python`). */
  venvPython: string
  /** The environment's Python version (pyvenv.cfg), part of the cache key. */
  pythonVersion: string
  /** Relative `python.find_links` are taken from here. */
  baseDir?: string
  /**
   * What is installed now, in the environment and (with system site packages) its base: protected ones and base ones
   * that fit are kept at their version and build (see decideProvided). Absent: nothing is installed.
   */
  installed?: { environment: readonly Distribution[]; base: readonly Distribution[] }
}

export interface CompileResult {
  /** `<cacheRoot>/compiled/<inputsHash>.txt`. */
  lockPath: string
  /** sha256 of the lock's text: the uv-install fingerprint input. */
  lockHash: string
  inputsHash: string
  /** True when the lock came from the cache and no process was started. */
  cached: boolean
  /** `name==version` lines (or `name @ URL`). */
  pins: string[]
  /** The kept distributions (protected, or provided by the base); the installer leaves them as they are. */
  provided: ProvidedDist[]
}

export interface CompileProblem {
  /** `conflict` only when the requirements contradict each other (the per-node fallback runs only then). */
  reason: 'conflict' | 'timeout' | 'no-output' | 'failed' | 'cancelled'
  /** What the resolver's output says happened (see classifyFailure); absent when it did not get that far. */
  class?: FailureClass
  /** What went wrong and what to do, redacted. */
  message: string
  /** For each package involved: who asked for it and how (see {@link attributeConflict}). */
  attribution: string[]
  /** The resolver's explanation or the tail of its output, redacted. */
  details: string[]
}

/**
 * Everything the lock depends on, hashed: the compile cache key. Credentials in index URLs only ever reach the hash.
 * A lock resolved offline (from find_links and caches only) has a key of its own, so that it never stands in for
 * an online resolution; an offline run takes either (see compile).
 */
export function compileInputsHash(o: Pick<CompileOptions, 'collected' | 'rules' | 'backend' | 'pythonVersion' | 'offline' | 'baseDir'> & { env?: CompileOptions['env']; provided?: readonly ProvidedDist[] }): string {
  const index = indexOptions(o.rules, o.collected, { offline: false, ...(o.baseDir ? { baseDir: o.baseDir } : {}) })
  return sha256(canonicalJson({
    ...(o.offline ? { resolvedOffline: true } : {}),
    schema: COMPILE_SCHEMA,
    requirements: renderRequirementsIn(o.collected),
    constraints: renderConstraints(o.collected),
    python: o.pythonVersion,
    index,
    torchBackend: o.rules.torch_backend ?? null,
    excludeNewer: o.rules.exclude_newer ?? null,
    backend: o.backend.kind,
    backendVersion: o.backend.version,
    indexStrategy: o.rules.index_strategy ?? null,
    // The lock is for this machine's kind: a wheel for linux x86_64 is not one for macOS arm64.
    platform: `${process.platform}-${process.arch}`,
    provided: (o.provided ?? []).map(p => `${p.name}==${p.version} (${p.why}, ${p.from})`),
    ambient: o.env ? ambientKey(o.env) : {},
  }))
}

export const compiledLockPath = (cacheRoot: string, inputsHash: string): string => cacheLayout(cacheRoot).compiledLock(inputsHash)

/** `uv pip compile` arguments (after the uv command itself). */
export function uvCompileArgs(p: {
  input: string; output: string; python: string; constraints?: string; index: IndexOptions
  torchBackend?: string | null; excludeNewer?: string | null; indexStrategy?: string | null
}): string[] {
  return [
    'pip', 'compile', p.input, '--output-file', p.output, '--python', p.python,
    ...(p.constraints ? ['--constraint', p.constraints] : []),
    ...indexArgs(p.index, 'uv'),
    ...(p.torchBackend ? ['--torch-backend', p.torchBackend] : []),
    ...(p.excludeNewer ? ['--exclude-newer', p.excludeNewer] : []),
    ...(p.indexStrategy ? ['--index-strategy', p.indexStrategy] : []),
    '--no-header',
  ]
}

/** pip's resolve-only run: what would be installed into an empty environment, as a JSON report. */
export function pipResolveArgs(p: { input: string; report: string; constraints?: string; index: IndexOptions; log?: string }): string[] {
  return [
    'install', '--dry-run', '--ignore-installed', '--report', p.report, '-r', p.input,
    ...(p.constraints ? ['-c', p.constraints] : []),
    // pip writes why an index page could not be fetched (refused, timed out, 401) only to its log, at debug level.
    ...(p.log ? ['--log', p.log] : []),
    ...indexArgs(p.index, 'pip'),
    '--progress-bar', 'off', '--no-input', '--disable-pip-version-check',
  ]
}

/**
 * Resolves the collected requirements into pinned ones, once per distinct input: the lock is
 * cached at `<cacheRoot>/compiled/<inputs hash>.txt` (written atomically) and a cache hit starts
 * no process. uv runs `uv pip compile`; pip runs `pip install --dry-run --ignore-installed
 * --report` and its report becomes `name==version` lines. A conflict fails with, for each
 * package involved, the node packs that asked for it and their specs.
 */
export async function compile(options: CompileOptions): Promise<Result<CompileResult, CompileProblem>> {
  const kept = decideProvided({ rules: options.rules, collected: options.collected, environment: options.installed?.environment ?? [], base: options.installed?.base ?? [] })
  if (kept.violations.length) {
    const attribution = kept.violations.map(v => redact(`${v.name}: ${v.source} asks ${v.spec}; ${v.name} ${v.installed} is installed and protected`))
    return err({ reason: 'failed', message: violationMessage(kept.violations), attribution, details: attribution })
  }
  const provided = kept.provided
  const o: CompileOptions & { provided: ProvidedDist[] } = { ...options, collected: withProvided(options.collected, provided), provided }
  // Offline, a lock an online run resolved is the better one, and it is what a realize online left behind.
  for (const offline of o.offline ? [false, true] : [false]) {
    const key = compileInputsHash({ ...o, offline })
    const path = compiledLockPath(o.cacheRoot, key)
    const cachedText = await readFile(path, 'utf8').catch(() => undefined)
    if (cachedText !== undefined) {
      const pins = parseLockPins(cachedText)
      return ok({ lockPath: path, lockHash: sha256(cachedText), inputsHash: key, cached: true, pins, provided: providedIn(pins, provided) })
    }
  }
  const inputsHash = compileInputsHash(o)
  const lockPath = compiledLockPath(o.cacheRoot, inputsHash)

  const requirementsIn = renderRequirementsIn(o.collected)
  if (!requirementsIn) {
    await writeFileAtomic(lockPath, '')
    return ok({ lockPath, lockHash: sha256(''), inputsHash, cached: false, pins: [], provided: [] })
  }
  const say = (line: string) => o.onLine?.(redact(line))
  const ambient = ambientIndexNotes(o.env)
  for (const n of ambient) say(n)
  if (o.backend.kind === 'pip') {
    if (o.rules.torch_backend) say(`note: python.torch_backend (${o.rules.torch_backend}) is uv-only; pip ignores it`)
    if (o.rules.exclude_newer) say(`note: python.exclude_newer (${o.rules.exclude_newer}) is uv-only; pip ignores it`)
    if (o.rules.index_strategy) say(`note: python.index_strategy (${o.rules.index_strategy}) is uv-only; pip always takes the best version across all indexes`)
  }
  const work = await makeWorkDir(cacheLayout(o.cacheRoot).tmp, 'compile-')
  try {
    // Paths relative to the work folder keep temporary names out of uv's "# via -r …" annotations.
    const input = 'requirements.in'
    await writeFile(join(work, input), requirementsIn)
    const constraintsText = renderConstraints(o.collected)
    const constraints = constraintsText ? 'constraints.txt' : undefined
    if (constraints) await writeFile(join(work, constraints), constraintsText)
    const named = indexOptions(o.rules, o.collected, { offline: o.offline, ...(o.baseDir ? { baseDir: o.baseDir } : {}) })
    let index = named
    if (provided.length) {
      // The kept builds, as metadata-only wheels only the resolver reads (see writeStubWheels).
      const stubs = join(work, 'installed')
      await mkdir(stubs)
      await writeStubWheels(stubs, provided)
      index = { ...named, findLinks: [...named.findLinks, stubs] }
    }
    if (!o.offline) {
      const dead = await deadIndexes([...(index.indexUrl ? [index.indexUrl] : []), ...index.extraIndexUrls], o.index?.timeoutS ?? 10, o.signal)
      if (dead.length && !o.signal?.aborted) return err(deadIndexProblem(dead, o))
    }
    const output = o.backend.kind === 'uv' ? 'requirements.txt' : 'report.json'
    const args = o.backend.kind === 'uv'
      ? uvCompileArgs({ input, output, python: o.venvPython, ...(constraints ? { constraints } : {}), index,
        torchBackend: o.rules.torch_backend ?? null, excludeNewer: o.rules.exclude_newer ?? null, indexStrategy: o.rules.index_strategy ?? null })
      : pipResolveArgs({ input, report: output, ...(constraints ? { constraints } : {}), index, log: 'pip.log' })
    const [file, ...pre] = o.backend.command
    const r = await exec(file!, [...pre, ...args], {
      cwd: work, env: { ...backendEnv(o.env, o.cacheRoot), ...indexEnv(index, o.backend.kind, o.index) }, timeoutMs: o.timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}), onLine: say,
    })
    if (r.exitCode !== 0 || r.spawnError || r.aborted || r.timedOut) {
      const log = o.backend.kind === 'pip' ? await readFile(join(work, 'pip.log'), 'utf8').catch(() => '') : ''
      return err(failure(r, o, requirementLines(o.collected), fetchErrors(log), ambient))
    }
    const produced = await readFile(join(work, output), 'utf8').catch(() => undefined)
    if (produced === undefined) {
      return err({ reason: 'no-output', message: `${o.backend.label} exited successfully but wrote no ${o.backend.kind === 'uv' ? 'output file' : 'report'}; the environment may be broken`, attribution: [], details: tail(r) })
    }
    let lockText: string
    if (o.backend.kind === 'uv') lockText = produced
    else {
      try { lockText = pinsFromPipReport(JSON.parse(produced)).map(p => `${p}\n`).join('') } catch (e) {
        return err({ reason: 'failed', message: `could not read pip's resolution report: ${(e as Error).message}`, attribution: [], details: tail(r) })
      }
    }
    lockText = annotateKept(lockText, providedIn(parseLockPins(lockText), provided))
    await writeFileAtomic(lockPath, lockText)
    const pins = parseLockPins(lockText)
    return ok({ lockPath, lockHash: sha256(lockText), inputsHash, cached: false, pins, provided: providedIn(pins, provided) })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

// --- internal ---

/** The lock says, on each kept pin, why it is kept: the installer leaves those where they are. */
function annotateKept(lockText: string, kept: readonly ProvidedDist[]): string {
  const why = new Map(kept.map(k => [k.name, k.why === 'protected' ? 'protected (python.protect): the installed build is kept' : 'provided by the base interpreter (system_site_packages): not installed again']))
  return lockText.split('\n').map(line => {
    const w = /^[A-Za-z0-9]/.test(line) ? why.get(normalizeName(leading(line))) : undefined
    return w ? `${line}  # ${w}` : line
  }).join('\n')
}

/** The kept distributions the lock pins at their installed version (those it does not pin play no part). */
function providedIn(pins: readonly string[], provided: readonly ProvidedDist[]): ProvidedDist[] {
  const pinned = new Map(pins.map(p => [normalizeName(leading(p)), /==\s*([^\s;,]+)/.exec(p)?.[1]]))
  return provided.filter(p => pinned.get(p.name) === p.version)
}

function failure(r: ExecResult, o: CompileOptions, inputLines: string[], logLines: string, ambient: string[]): CompileProblem {
  const what = `resolving Python dependencies with ${o.backend.label}`
  if (r.aborted) return { reason: 'cancelled', message: `${what} was cancelled`, attribution: [], details: [] }
  if (r.timedOut) {
    return { reason: 'timeout', message: `${what} timed out after ${Math.round(o.timeoutMs / 1000)} s (raise timeouts.compile_s in cache.config.ts)`, attribution: [], details: tail(r) }
  }
  if (r.spawnError) return { reason: 'failed', message: redact(`${what} could not start ${o.backend.command.join(' ')}: ${r.spawnError}`), attribution: [], details: [] }
  const d = describeResolverFailure({
    text: `${r.stderr}\n${r.stdout}\n${logLines}`, offline: o.offline, collected: o.collected, inputLines,
    what: `${what} ${describeFailure(r)}${missingPipHint(o.backend, r.stderr)}`, tail: tail(r),
  })
  // An ambient mirror the run did not use may be why an index did not have a package.
  const also = ambient.length && ['not-found', 'index-unreachable', 'index-auth'].includes(d.class) ? `\n${ambient.join('\n')}` : ''
  return { reason: d.class === 'conflict' ? 'conflict' : 'failed', class: d.class, message: d.message + also, attribution: d.attribution, details: d.details }
}

function deadIndexProblem(dead: { url: string; reason: string }[], o: CompileOptions): CompileProblem {
  const t = FAILURE_TEXT['index-unreachable']
  const attribution = dead.map(d => {
    const who = o.collected.indexSources?.[d.url]
    return redact(`${d.url}: ${d.reason}; ${who?.length ? `added by ${who.join(', ')}` : 'from the spec (python.index_url / python.extra_index_urls)'}`)
  })
  return {
    reason: 'failed', class: 'index-unreachable', attribution, details: attribution,
    message: redact(`${t.title} (index ${dead.map(d => d.url).join(', ')})\n${attribution.map(l => `  ${l}`).join('\n')}\nFix: ${t.fix}.`),
  }
}

/** The lines of pip's log that say an index page could not be fetched, without their timestamps. */
const fetchErrors = (log: string): string =>
  log.split(/\r?\n/).filter(l => /Could not fetch URL|Retrying \(Retry/.test(l)).map(l => l.replace(/^\S+ /, '')).join('\n')

const tail = (r: ExecResult, n = 20): string[] => (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-n).map(redact)
