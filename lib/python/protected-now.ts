import type { PythonRules } from '../spec/schema.ts'
import { baseSitePackagesDirs, listDistributions } from './distributions.ts'
import { sitePackagesDirs } from './installed.ts'
import { readVenv } from './interpreter.ts'
import { protectMatcher } from './protect.ts'

/**
 * The protected distributions the environment has now (its own, and the base's with system site packages), as
 * `name version` (`torch 2.5.0+cu124`), for plan's report: what the next compile keeps. Files only. A package
 * python.requirements names is left out: the spec's pin decides it.
 */
export function protectedNow(venvDir: string, rules: Pick<PythonRules, 'protect' | 'system_site_packages' | 'requirements'>): string[] {
  const v = readVenv(venvDir)
  if (!v) return []
  const isProtected = protectMatcher(rules.protect)
  const pinned = protectMatcher(rules.requirements.map(r => /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(r)?.[1] ?? '').filter(Boolean))
  const dirs = [...sitePackagesDirs(venvDir), ...(rules.system_site_packages && v.systemSitePackages ? baseSitePackagesDirs(v.home, v.version) : [])]
  return listDistributions(dirs).filter(d => isProtected(d.name) && !pinned(d.name)).map(d => `${d.name} ${d.version}`)
}
