import { redact } from '../util/redact.ts'
import type { CollectedDeps } from './collect.ts'
import { attributeConflict, parseResolverError } from './conflict.ts'
import { classifyFailure, FAILURE_TEXT, type FailureClass } from './failure-class.ts'

/** A resolver or installer failure as the user reads it: class, cause, who is behind it, fix. */
export interface DescribedFailure {
  class: FailureClass
  /** Leads with the class and the fix; redacted. */
  message: string
  /** For each package or index involved: who asked for it (node packs, the core, the spec). */
  attribution: string[]
  /** The resolver's own explanation, uv's hints and a build's last lines, redacted. */
  details: string[]
}

export type AttributionSources = Pick<CollectedDeps, 'sources' | 'constraintSources'> & Partial<Pick<CollectedDeps, 'indexSources'>>

/**
 * Describes a failed `uv pip compile/install` or `pip install` run from its output (`text`: stderr, stdout and, for
 * pip, its `--log` lines). `inputLines` are the lines given to the resolver (pip names them by line number).
 */
export function describeResolverFailure(p: {
  text: string; offline: boolean; collected?: AttributionSources; inputLines?: readonly string[]; what: string; tail: string[]
}): DescribedFailure {
  const c = classifyFailure(p.text, { offline: p.offline })
  const parsed = parseResolverError(p.text, p.inputLines ?? [])
  const names = [...new Set([...c.packages, ...(c.class === 'conflict' ? parsed.names : [])])]
  const attribution = p.collected ? attributeConflict({ ...parsed, names }, p.collected) : []
  for (const url of c.urls) {
    // Named as the node wrote it (redacted), not as the page the resolver asked for (…/simple/<package>/).
    const given = Object.entries(p.collected?.indexSources ?? {}).filter(([u]) => sameIndex(redact(u), url))
    const line = given.length
      ? given.map(([u, who]) => `${u}: added by ${who.join(', ')}`)
      : [`${url}: from the spec, the default index or a package's own URL`]
    for (const l of line) if (!attribution.includes(redact(l))) attribution.push(redact(l))
  }
  const t = FAILURE_TEXT[c.class]
  const cause = c.class === 'unknown' ? p.what
    : [c.packages.length ? `package ${c.packages.join(', ')}` : '', c.urls.length ? `index ${c.urls.join(', ')}` : '', c.python ?? ''].filter(Boolean).join('; ')
  const why = attribution.length ? attribution : c.class === 'conflict' ? parsed.causes : []
  const details = [...(c.class === 'conflict' ? parsed.causes : []), ...c.buildTail, ...c.hints]
  const message = [
    `${t.title}${cause ? ` (${cause})` : ''}`,
    ...why.map(l => `  ${l}`),
    ...c.buildTail.map(l => `  | ${l}`),
    ...c.hints.map(h => `  ${h}`),
    `Fix: ${t.fix}.`,
  ].join('\n')
  return { class: c.class, message: redact(message), attribution: attribution.map(redact), details: (details.length ? details : p.tail).map(redact) }
}

// --- internal ---

/** An index URL as the spec or a node wrote it vs. the page URL the resolver failed on (…/simple vs …/simple/pkg/). */
const sameIndex = (configured: string, failed: string): boolean => {
  const bare = (u: string) => u.replace(/\/\/[^/@]*@/, '//').replace(/\/+$/, '')
  const base = bare(configured)
  return bare(failed) === base || bare(failed).startsWith(`${base}/`)
}
