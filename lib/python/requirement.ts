import { normalizeName } from './pep440.ts'

/** One specifier clause, e.g. `<2` or `==1.*`. */
export interface Clause { op: string; version: string }

/** A PEP 508 requirement, split into the parts collection needs. */
export interface Requirement {
  /** The name as written. */
  name: string
  /** PEP 503 normalized name: the key for attribution, blacklists and installed versions. */
  key: string
  extras: string[]
  clauses: Clause[]
  /** A direct reference (`name @ URL`). */
  url?: string
  /** The environment marker after `;`, as written. */
  marker?: string
}

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*/
const CLAUSE = /^\s*(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9][A-Za-z0-9.*+!_-]*)\s*$/
const EXTRA = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/

/** Parses one requirement; undefined when it is not valid PEP 508. */
export function parseRequirement(text: string): Requirement | undefined {
  const m = NAME.exec(text.trim())
  if (!m) return undefined
  const name = m[1]!
  const extras = m[2] === undefined ? [] : m[2].split(',').map(s => s.trim()).filter(Boolean)
  if (!extras.every(e => EXTRA.test(e))) return undefined
  let rest = text.trim().slice(m[0].length)
  const req: Requirement = { name, key: normalizeName(name), extras, clauses: [] }
  if (rest.startsWith('@')) {
    // A URL ends at whitespace; a marker after it must be separated by whitespace (PEP 508).
    const u = /^@\s*(\S+)\s*(?:;\s*(.*))?$/.exec(rest)
    if (!u) return undefined
    req.url = u[1]!
    if (u[2] !== undefined) { if (!u[2].trim()) return undefined; req.marker = u[2].trim() }
    return req
  }
  const semi = rest.indexOf(';')
  if (semi >= 0) {
    const marker = rest.slice(semi + 1).trim()
    if (!marker) return undefined
    req.marker = marker
    rest = rest.slice(0, semi)
  }
  let spec = rest.trim()
  if (spec.startsWith('(') && spec.endsWith(')')) spec = spec.slice(1, -1)
  if (spec) {
    for (const part of spec.split(',')) {
      const c = CLAUSE.exec(part)
      if (!c) return undefined
      req.clauses.push({ op: c[1]!, version: c[2]! })
    }
  }
  return req
}

/** The requirement written back without extras (pip refuses extras in constraints). */
export function formatWithoutExtras(r: Requirement): string {
  const base = r.url ? `${r.name} @ ${r.url}` : r.name + r.clauses.map(c => `${c.op}${c.version}`).join(',')
  return r.marker ? `${base}${r.url ? ' ' : ''}; ${r.marker}` : base
}
