import { readFile } from 'node:fs/promises'
import { installedPackages } from './installed.ts'
import { leading, parseLockPins } from './lock-file.ts'
import { normalizeName } from './pep440.ts'
import { protectMatcher } from './protect.ts'

/** One row of the environment's deep check: a pinned distribution as installed (`python:<package>`). */
export interface EnvCheck { id: string; status: 'ok' | 'drift' | 'missing' | 'extra'; detail?: string }

/** What else the check compares: the tool's install record and the builds the lock kept. */
export interface EnvExpectations {
  /** The distributions the tool installed (clean-switch.ts): one the lock no longer has and still installed is `extra`. */
  record?: Readonly<Record<string, string>>
  /** Kept builds (protected or the base's), as they were when the lock was made: another version now is drift. */
  kept?: readonly { name: string; version: string; why: string; from: string }[]
  protect?: readonly string[]
  /** The base interpreter's packages (system site packages), where kept base builds are installed. */
  base?: ReadonlyMap<string, string>
}

/**
 * The environment against its lock, read from `*.dist-info` folders (no Python process): every pinned
 * distribution installed at its pinned version (a kept one where it was kept, the base's included), each kept
 * (protected) build unchanged, and no distribution the tool installed that the lock no longer has (`extra`).
 * Pins that are not `name==version` (URLs) are checked for presence.
 */
export async function verifyEnvironment(venvDir: string, lockPath: string, expect: EnvExpectations = {}): Promise<EnvCheck[]> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined)
  if (text === undefined) return [{ id: 'python:(lock)', status: 'missing', detail: `the lock ${lockPath} is gone` }]
  const own = installedPackages(venvDir)
  const installed = new Map([...(expect.base ?? new Map()), ...own])
  const kept = new Map((expect.kept ?? []).map(k => [k.name, k]))
  const pins = parseLockPins(text)
  const rows: EnvCheck[] = pins.map(pin => {
    const name = normalizeName(leading(pin))
    const wanted = /==\s*([^\s;,]+)/.exec(pin)?.[1]
    const have = installed.get(name)
    const id = `python:${name}`
    const k = kept.get(name)
    const as = k ? ` (kept: ${k.why === 'protected' ? 'protected' : 'provided by the base interpreter'})` : ''
    if (have === undefined) return { id, status: 'missing', detail: `${pin} is not installed${as}` }
    if (wanted && normalizeVersion(have) !== normalizeVersion(wanted)) {
      return { id, status: 'drift', detail: k ? `${k.why === 'protected' ? 'protected ' : ''}${name} was ${wanted} when the lock was made; ${have} is installed now` : `${have} is installed, the lock pins ${wanted}` }
    }
    return { id, status: 'ok', ...(as ? { detail: `${have}${as}` } : {}) }
  })
  const pinned = new Set(pins.map(p => normalizeName(leading(p))))
  for (const k of expect.kept ?? []) {
    if (pinned.has(k.name) || k.why !== 'protected') continue
    const have = installed.get(k.name)
    rows.push(have === k.version
      ? { id: `python:${k.name}`, status: 'ok', detail: `${have} (kept: protected)` }
      : { id: `python:${k.name}`, status: 'drift', detail: `protected ${k.name} was ${k.version} when the lock was made; ${have ?? 'nothing'} is installed now` })
  }
  const isProtected = protectMatcher(expect.protect ?? [])
  for (const [name, version] of Object.entries(expect.record ?? {}).sort()) {
    if (pinned.has(name) || kept.has(name) || isProtected(name) || !own.has(name)) continue
    rows.push({ id: `python:${name}`, status: 'extra', detail: `${name} ${own.get(name)} was installed by the tool (${version}) and the lock no longer has it (realize removes it)` })
  }
  return rows
}

const normalizeVersion = (v: string) => v.trim().toLowerCase().replace(/^v/, '')
