import { compareVersions, parseVersion, withoutLocal } from './pep440.ts'
import type { Clause } from './requirement.ts'

/**
 * Whether an installed version satisfies every clause of a requirement (PEP 440 specifiers). A clause without a
 * local label ignores the installed one's (`==2.5.0` and `<2.6` both admit `2.5.0+cu124`); `==2.5.0+cu124` needs it.
 * Pre-release exclusion is not applied: the version is installed, not chosen. Unreadable versions satisfy nothing.
 */
export function satisfies(installed: string, clauses: readonly Clause[]): boolean {
  const have = parseVersion(installed)
  if (!have) return false
  return clauses.every(c => {
    if (c.op === '===') return installed.trim().toLowerCase() === c.version.trim().toLowerCase()
    if ((c.op === '==' || c.op === '!=') && c.version.endsWith('.*')) {
      const prefix = c.version.slice(0, -2).split('.').map(Number)
      const match = !prefix.some(Number.isNaN) && prefix.every((n, i) => (have.release[i] ?? 0) === n)
      return c.op === '==' ? match : !match
    }
    const want = parseVersion(c.version)
    if (!want) return false
    const base = want.local ? have : withoutLocal(have)
    const d = compareVersions(base, want)
    switch (c.op) {
      case '==': return d === 0
      case '!=': return d !== 0
      case '>=': return d >= 0
      case '<=': return d <= 0
      case '>': return d > 0
      case '<': return d < 0
      // ~=1.4.2 is >=1.4.2, ==1.4.*
      case '~=': return want.release.length >= 2 && d >= 0 && want.release.slice(0, -1).every((n, i) => (have.release[i] ?? 0) === n)
      default: return false
    }
  })
}
