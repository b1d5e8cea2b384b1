import { redact } from '../util/redact.ts'
import type { Attribution, CollectedDeps } from './collect.ts'
import { normalizeName } from './pep440.ts'

/** "`from` (at `fromVersion`) depends on `requirement`", as a resolver explained it. */
export interface DependencyEdge { from: string; fromVersion?: string; to: string; requirement: string }

/** What a resolver's error output says about a failed resolution. */
export interface ResolverError {
  /** The resolver says the requirements contradict each other (not merely that something is missing). */
  conflict: boolean
  /** Normalized names of the packages involved, in order of appearance. */
  names: string[]
  edges: DependencyEdge[]
  /** The resolver's own explanation lines (redacted). */
  causes: string[]
}

const NAME = '[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9]'
const SPEC = `(?:\\[[^\\]]*\\])?(?:\\s*(?:===|==|!=|<=|>=|~=|<|>)\\s*[^\\s,;()]+(?:,\\s*(?:===|==|!=|<=|>=|~=|<|>)\\s*[^\\s,;()]+)*)?`
// pip: "demo-a 1.0 depends on numpy<2"; uv: "demo-a==1.0 depends on numpy<2", "all versions of demo-a depend on numpy<2".
const PIP_EDGE = new RegExp(`^(${NAME}) (\\S+) depends on ((${NAME})${SPEC})`)
// The package may carry extras (`a[extra-b]`) or markers (`a{sys_platform == 'linux'}`); the edge is the package's.
const UV_EDGE = new RegExp(`(?:all versions of )?(${NAME})(?:\\[[^\\]]*\\])?(?:\\{[^}]*\\})?((?:===|==|!=|<=|>=|~=|<|>)[^\\s,]+(?:,(?:===|==|!=|<=|>=|~=|<|>)[^\\s,]+)*)? depends? on ((${NAME})${SPEC})`, 'g')
const UV_REQUIRE = /you require (.+?)(?:,|\.\s| we can|$)/g

/**
 * Reads pip's or uv's resolver error output. `inputLines` are the lines of the requirements
 * file given to the resolver, so pip's "Cannot install -r req.in (line 2) and …" can be mapped
 * back to a requirement.
 */
export function parseResolverError(text: string, inputLines: readonly string[] = []): ResolverError {
  const out: ResolverError = { conflict: false, names: [], edges: [], causes: [] }
  const addName = (n: string | undefined) => {
    if (n === undefined) return
    const k = normalizeName(n)
    if (!out.names.includes(k)) out.names.push(k)
  }
  const lines = text.split(/\r?\n/)
  // pip
  if (/ResolutionImpossible|have conflicting dependencies|The conflict is caused by/.test(text)) out.conflict = true
  for (const l of lines) {
    const cannot = /Cannot install (.+?) because these package versions have conflicting dependencies/.exec(l)
    if (cannot) {
      out.causes.push(redact(l.replace(/^ERROR:\s*/, '').trim()))
      for (const part of cannot[1]!.split(/,\s*(?:and\s+)?|\s+and\s+/)) {
        const fromFile = /^-r \S+ \(line (\d+)\)$/.exec(part.trim())
        const req = fromFile ? inputLines[Number(fromFile[1]) - 1] : part.trim()
        if (req) addName(leadingName(req))
      }
    }
    const missing = /(?:No matching distribution found for|Could not find a version that satisfies the requirement) (\S+)/.exec(l)
    if (missing) { addName(leadingName(missing[1]!)); out.causes.push(redact(l.replace(/^ERROR:\s*/, '').trim())) }
  }
  const caused = lines.findIndex(l => /The conflict is caused by:/.test(l))
  if (caused >= 0) {
    for (const l of lines.slice(caused + 1)) {
      if (!l.trim()) break
      const cause = l.trim()
      out.causes.push(redact(cause))
      const user = /^The user requested (?:\(constraint\) )?(.+)$/.exec(cause)
      if (user) { addName(leadingName(user[1]!)); continue }
      const edge = PIP_EDGE.exec(cause)
      if (edge) {
        addName(edge[1]!); addName(edge[4]!)
        out.edges.push({ from: normalizeName(edge[1]!), fromVersion: edge[2]!, to: normalizeName(edge[4]!), requirement: edge[3]! })
      }
    }
  }
  // uv (pubgrub's derivation tree, one sentence per "Because …")
  const solve = lines.findIndex(l => /No solution found when resolving/.test(l))
  if (solve >= 0) {
    out.conflict = true
    const body = lines.slice(solve + 1).map(l => l.replace(/^[\s│╰─▶]+/u, '').trimEnd()).filter(Boolean)
    const explanation = body.filter(l => !/^hint:/.test(l))
    out.causes.push(...explanation.map(redact))
    const joined = explanation.join(' ')
    for (const m of joined.matchAll(UV_EDGE)) {
      // "depend on one of: b==1.0.0 b==3.0.0" is a list, not a package called `one`.
      if (m[4] === 'one' && joined.slice(m.index + m[0].length).startsWith(' of:')) continue
      // uv's project wording ("your project depends on anyio") names no package.
      if (m[1] === 'project' && joined.slice(Math.max(0, m.index - 5), m.index) === 'your ') continue
      addName(m[1]!); addName(m[4]!)
      const edge: DependencyEdge = { from: normalizeName(m[1]!), ...(m[2] ? { fromVersion: m[2] } : {}), to: normalizeName(m[4]!), requirement: m[3]!.replace(/\.$/, '') }
      // "all versions of demo-a depend on …" repeats what "demo-a==1.0 depends on …" said.
      if (!out.edges.some(x => x.from === edge.from && x.to === edge.to && x.requirement === edge.requirement)) out.edges.push(edge)
    }
    for (const m of joined.matchAll(UV_REQUIRE)) for (const part of m[1]!.split(/ and (?:you require )?/)) if (!/^one of:/.test(part)) addName(leadingName(part))
    for (const m of joined.matchAll(new RegExp(`there is no version of (${NAME})`, 'g'))) addName(m[1]!)
  }
  return out
}

/**
 * One line per package involved in a failed resolution, naming every source that asked for it
 * and how, e.g. `numpy: node-a asks numpy<2; node-b asks numpy>=2`. Constraints and the
 * resolver's "X depends on Y" edges are added with who asked for X. Redacted.
 */
export function attributeConflict(e: ResolverError, collected: Pick<CollectedDeps, 'sources' | 'constraintSources'>): string[] {
  const lines: string[] = []
  const asks = (list: Attribution[] | undefined) => (list ?? []).map(a => `${a.source} asks ${a.spec}`)
  for (const name of e.names) {
    const parts = [
      ...asks(collected.sources[name]),
      ...(collected.constraintSources[name] ?? []).map(a => `${a.source} constrains ${a.spec}`),
      ...e.edges.filter(x => x.to === name).map(x => {
        const who = (collected.sources[x.from] ?? []).map(a => a.source)
        const version = x.fromVersion ? ` ${x.fromVersion.replace(/^==/, '')}` : ''
        return `${x.from}${version} depends on ${x.requirement}${who.length ? ` (${x.from} is asked for by ${[...new Set(who)].join(', ')})` : ''}`
      }),
    ]
    if (parts.length) lines.push(redact(`${name}: ${parts.join('; ')}`))
  }
  return lines
}

// --- internal ---

const leadingName = (req: string): string | undefined => new RegExp(`^\\s*(${NAME})`).exec(req)?.[1]
