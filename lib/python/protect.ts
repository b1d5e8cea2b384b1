import type { PythonRules } from '../spec/schema.ts'
import { redact } from '../util/redact.ts'
import { SPEC_SOURCE, type Attribution, type CollectedDeps } from './collect.ts'
import type { Distribution } from './distributions.ts'
import { normalizeName } from './pep440.ts'
import { parseRequirement } from './requirement.ts'
import { satisfies } from './specifier.ts'

/** A distribution the environment already has that the compile keeps at its installed version and build. */
export interface ProvidedDist extends Distribution {
  /** `protected`: on python.protect; `base`: seen through system_site_packages and fitting every ask. */
  why: 'protected' | 'base'
  /** Where it is installed: the environment's own site-packages, or the base interpreter's. */
  from: 'environment' | 'base'
}

/** A node (or the core) asking for a protected package at a version its installed build does not satisfy. */
export interface ProtectViolation { name: string; installed: string; source: string; spec: string }

export type ProtectRules = Partial<Pick<PythonRules, 'protect' | 'requirements'>>

/** Attribution name of a protected package's constraint (conflict messages say who asked for what). */
export const PROTECT_SOURCE = 'python.protect (installed)'

/**
 * Decides which installed distributions the compile keeps (the contract's `python.protect`):
 * - a distribution whose name matches python.protect, in the environment or its base, is kept at its installed
 *   version and build unless python.requirements names it (the only way to change one); every other ask for it
 *   that its version does not satisfy is a violation;
 * - with system site packages, a base distribution that the requirements ask for directly and whose version
 *   satisfies every ask is kept as well (it is not installed again into the environment).
 * Pure: the caller lists the distributions (files only).
 */
export function decideProvided(o: {
  rules: ProtectRules; collected: Pick<CollectedDeps, 'sources' | 'constraintSources'>
  environment: readonly Distribution[]; base: readonly Distribution[]
}): { provided: ProvidedDist[]; violations: ProtectViolation[] } {
  const isProtected = protectMatcher(o.rules.protect ?? [])
  const pinnedBySpec = new Set((o.rules.requirements ?? []).map(r => parseRequirement(r)?.key).filter((k): k is string => !!k))
  const seen = new Map<string, ProvidedDist>()
  for (const d of o.environment) seen.set(d.name, { ...d, why: 'protected', from: 'environment' })
  for (const d of o.base) if (!seen.has(d.name)) seen.set(d.name, { ...d, why: 'protected', from: 'base' })
  const provided: ProvidedDist[] = []
  const violations: ProtectViolation[] = []
  for (const d of [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const asks = [...(o.collected.sources[d.name] ?? []), ...(o.collected.constraintSources[d.name] ?? []).filter(a => a.source === SPEC_SOURCE)]
    if (isProtected(d.name)) {
      if (pinnedBySpec.has(d.name)) continue
      for (const a of asks) if (!fits(d.version, a)) violations.push({ name: d.name, installed: d.version, source: a.source, spec: a.spec })
      provided.push(d)
    } else if (d.from === 'base' && asks.length && asks.every(a => fits(d.version, a))) {
      provided.push({ ...d, why: 'base' })
    }
  }
  return { provided, violations }
}

/** The compile's view of the kept distributions: a `name==version` constraint each, attributed for conflict messages. */
export function withProvided(collected: CollectedDeps, provided: readonly ProvidedDist[]): CollectedDeps {
  if (!provided.length) return collected
  const constraintSources = { ...collected.constraintSources }
  const lines = provided.map(p => {
    const spec = `${p.name}==${p.version}`
    constraintSources[p.name] = [...(constraintSources[p.name] ?? []), { source: p.why === 'protected' ? PROTECT_SOURCE : 'system_site_packages (installed in the base)', spec }]
    return spec
  })
  return { ...collected, constraints: [...collected.constraints, ...lines], constraintSources }
}

/** The message for violations: who asked what, the protected build, and the one spec change that allows it. */
export function violationMessage(violations: readonly ProtectViolation[]): string {
  const lines = violations.map(v => redact(`${v.source} asks ${v.spec}, but ${v.name} ${v.installed} is installed and protected (python.protect)`))
  const names = [...new Set(violations.map(v => v.name))]
  const example = violations[0]!
  return [
    `a protected package would change: ${names.join(', ')}`,
    ...lines.map(l => `  ${l}`),
    `Fix: to replace ${names.length > 1 ? 'them' : 'it'}, pin ${names.length > 1 ? 'each' : 'it'} in python.requirements (e.g. "${redact(example.spec)}"); `
      + 'that is the only change that lets the installer touch a protected package. Otherwise use a node version that accepts the installed build.',
  ].join('\n')
}

/** One line for reports: `torch 2.5.0+cu124, triton 3.1.0` (or "none"). */
export const protectedLine = (provided: readonly Pick<ProvidedDist, 'name' | 'version' | 'why'>[]): string =>
  provided.filter(p => p.why === 'protected').map(p => `${p.name} ${p.version}`).join(', ') || 'none'

/** Matches normalized names against python.protect's entries (`*` matches any run of characters). */
export function protectMatcher(globs: readonly string[]): (name: string) => boolean {
  const res = globs.map(g => new RegExp(`^${normalizeName(g).split('*').map(escape).join('.*')}$`))
  return name => res.some(r => r.test(normalizeName(name)))
}

// --- internal ---

const escape = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')

function fits(version: string, a: Attribution): boolean {
  const r = parseRequirement(a.spec)
  if (!r) return true
  if (r.url) return false
  return satisfies(version, r.clauses)
}
