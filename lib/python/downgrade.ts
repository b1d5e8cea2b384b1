import { compareVersions, normalizeName, parseVersion, withoutLocal, type Version } from './pep440.ts'
import type { CollectRules } from './collect-rules.ts'
import type { Clause, Requirement } from './requirement.ts'

/**
 * Seed 004's downgrade blacklist, checked against the version's own environment: for a package
 * on the list that is installed, a requirement without a version is refused (it would only
 * reinstall it), and so is one whose `<`, `<=`, `==` or `~=` clause admits only versions below
 * the installed one (a downgrade). `>=`, `>` and `!=` never block, nor does a request the
 * installed version already satisfies. A package that is not installed is never blocked.
 * Versions compare by PEP 440 (seed 004 used StrictVersion, which cannot read `2.5.1+cu121`).
 * Returns the reason to skip, or undefined.
 */
export function downgradeReason(req: Requirement, installedVersion: string | undefined): string | undefined {
  if (installedVersion === undefined) return undefined
  if (req.url) return undefined
  if (!req.clauses.length) return `downgrade blacklisted: ${req.name} ${installedVersion} is installed and the line gives no version (it would reinstall it)`
  const installed = parseVersion(installedVersion)
  if (!installed) return undefined
  for (const c of req.clauses) {
    if (forcesDowngrade(c, installed)) {
      return `downgrade blacklisted: ${req.name} ${installedVersion} is installed and ${c.op}${c.version} would downgrade it`
    }
  }
  return undefined
}

// --- internal ---

function forcesDowngrade(c: Clause, installed: Version): boolean {
  if (c.op === '==' && c.version.endsWith('.*')) {
    const prefix = c.version.slice(0, -2).split('.').map(Number)
    if (prefix.some(Number.isNaN)) return false
    return comparePrefix(installed.release, prefix) > 0
  }
  if (c.op === '~=') {
    const v = parseVersion(c.version)
    if (!v || v.release.length < 2) return false
    // ~=1.4.2 means >=1.4.2, ==1.4.*: everything from 1.5 on is above it.
    const upper = v.release.slice(0, -1)
    upper[upper.length - 1]! += 1
    return comparePrefix(installed.release, upper) >= 0
  }
  if (c.op === '<') return isBelow(c.version, installed, true)
  if (c.op === '<=' || c.op === '==' || c.op === '===') return isBelow(c.version, installed, false)
  return false
}

/** True when `installed` is above `version` (or equal, with `orEqual`); local labels ignored. */
function isBelow(version: string, installed: Version, orEqual: boolean): boolean {
  const v = parseVersion(version)
  if (!v) return false
  const d = compareVersions(withoutLocal(installed), withoutLocal(v))
  return orEqual ? d >= 0 : d > 0
}

function comparePrefix(release: number[], prefix: number[]): number {
  for (let i = 0; i < prefix.length; i++) {
    const d = (release[i] ?? 0) - prefix[i]!
    if (d) return d
  }
  return 0
}

/**
 * The installed versions collection depends on (packages on the downgrade blacklist; null when
 * not installed): for the collect-deps fingerprint, read with installedPackages() (installed.ts).
 */
export function downgradeInputs(rules: CollectRules, installed: ReadonlyMap<string, string>): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const name of (rules.downgrade_blacklist ?? []).map(normalizeName).sort()) out[name] = installed.get(name) ?? null
  return out
}
