import { err, ok, type Result } from '../result.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { describeFailure, exec } from '../util/exec.ts'
import { redact } from '../util/redact.ts'
import { backendEnv, type Backend } from './backend.ts'
import { leading } from './lock-file.ts'
import { familyOf } from './module-families.ts'
import { normalizeName } from './pep440.ts'
import { protectMatcher } from './protect.ts'
import type { StepOptions } from './step-options.ts'
import type { InstalledRecord } from './installed-record.ts'

export { readInstalledRecord, type InstalledRecord } from './installed-record.ts'

export const writeInstalledRecord = (file: string, record: InstalledRecord): Promise<void> =>
  writeFileAtomic(file, `${JSON.stringify({ installed: Object.fromEntries(Object.entries(record).sort()) }, null, 2)}\n`)

/** What a switch to a lock removes, split by when (see {@link removals}). */
export interface Removals {
  /** Share an import name with a member of the new lock (opencv-python → opencv-contrib-python): removed before the install, which then lays the module's files down whole. */
  before: string[]
  /** Everything else: removed after the install succeeded. */
  after: string[]
}

/**
 * The distributions the tool installed that the new lock no longer has, still installed, and not protected.
 * Pure: the caller reads the record, the lock's pins and what is installed.
 */
export function removals(o: { record: InstalledRecord; pins: readonly string[]; installed: ReadonlyMap<string, string>; protect: readonly string[] }): Removals {
  const inLock = new Set(o.pins.map(p => normalizeName(leading(p))))
  const isProtected = protectMatcher(o.protect)
  const lockModules = new Set([...inLock].map(n => familyOf(n)?.module).filter(Boolean))
  const out: Removals = { before: [], after: [] }
  for (const name of Object.keys(o.record).sort()) {
    if (inLock.has(name) || isProtected(name) || !o.installed.has(name)) continue
    const module = familyOf(name)?.module
    ;(module && lockModules.has(module) ? out.before : out.after).push(name)
  }
  return out
}

/** The record after an install: the lock's pins it installed, and the tool's protected ones it kept. */
export function nextRecord(o: { record: InstalledRecord; pins: readonly string[]; kept: readonly string[]; installed: ReadonlyMap<string, string>; protect: readonly string[] }): InstalledRecord {
  const isProtected = protectMatcher(o.protect)
  const kept = new Set(o.kept)
  const next: InstalledRecord = {}
  for (const [name, version] of Object.entries(o.record)) if (isProtected(name) && o.installed.has(name)) next[name] = o.installed.get(name) ?? version
  for (const p of o.pins) {
    const name = normalizeName(leading(p))
    // A kept build the tool did not install (the image's torch) stays the user's.
    if (kept.has(name) && !(name in o.record)) continue
    const v = o.installed.get(name)
    if (v !== undefined) next[name] = v
  }
  return next
}

/** `pip uninstall -y` / `uv pip uninstall` arguments (after the backend's command). */
export function uninstallArgs(kind: Backend['kind'], python: string, names: readonly string[]): string[] {
  return kind === 'uv' ? ['pip', 'uninstall', '--python', python, ...names] : ['uninstall', '-y', '--disable-pip-version-check', ...names]
}

/** Removes distributions from the environment with the backend. */
export async function uninstall(o: StepOptions & { backend: Backend; venvPython: string; names: readonly string[] }): Promise<Result<void, string>> {
  if (!o.names.length) return ok(undefined)
  const [file, ...pre] = o.backend.command
  const r = await exec(file!, [...pre, ...uninstallArgs(o.backend.kind, o.venvPython, o.names)], {
    env: backendEnv(o.env, o.cacheRoot), timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}), onLine: line => o.onLine?.(redact(line)),
  })
  if (r.exitCode === 0 && !r.spawnError && !r.aborted && !r.timedOut) return ok(undefined)
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).map(redact).join('\n')
  return err(redact(`removing ${o.names.join(', ')} with ${o.backend.label} ${r.timedOut ? 'timed out' : r.aborted ? 'was cancelled' : describeFailure(r)}${tail ? `\n${tail}` : ''}`))
}
