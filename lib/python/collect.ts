import { redact } from '../util/redact.ts'
import type { CollectRules } from './collect-rules.ts'
import { downgradeReason } from './downgrade.ts'

export { downgradeInputs } from './downgrade.ts'
export type { CollectRules } from './collect-rules.ts'
import { normalizeName } from './pep440.ts'
import { decodeRequirements, logicalLines } from './read-requirements.ts'
import { formatWithoutExtras, parseRequirement, type Requirement } from './requirement.ts'
import { sanitizeLine, vcsPin } from './sanitize.ts'
import { chooseMember, MODULE_FAMILIES } from './module-families.ts'

/** Attribution name of the spec's own `python.requirements` and `python.constraints`. */
export const SPEC_SOURCE = 'spec'
/** Attribution name of the ComfyUI core's requirements.txt. */
export const CORE_SOURCE = 'comfyui'

/** One node pack's requirements.txt (bytes are decoded with {@link decodeRequirements}). */
export interface NodeRequirements {
  name: string
  /** Undefined when the node has no requirements.txt. */
  text?: string | Uint8Array
  /** A disabled node's requirements are not collected. */
  enabled?: boolean
}

export interface CollectInput {
  nodes: NodeRequirements[]
  /** The core's requirements.txt: its lines are installed and also constrain what nodes may ask. */
  coreText?: string | Uint8Array
  rules: CollectRules
  /** Installed packages of the version's own environment (normalized name → version), for the downgrade blacklist. */
  installed: ReadonlyMap<string, string>
}

/** One collected requirement; duplicates are kept, the resolver merges them. */
export interface CollectedRequirement {
  /** Normalized package name. */
  name: string
  /** The requirement as given to the resolver (after overrides). */
  spec: string
  /** Node pack name, {@link CORE_SOURCE} or {@link SPEC_SOURCE}. */
  source: string
}

/** A line that was not collected, with why. The line is redacted (credentials removed). */
export interface SkippedLine { source: string; line: string; lineNo?: number; reason: string }

/** Who asked for a package, and how. */
export interface Attribution { source: string; spec: string }

export interface CollectedDeps {
  requirements: CollectedRequirement[]
  /** Constraint lines (the core's requirements without extras, then the spec's constraints). */
  constraints: string[]
  skipped: SkippedLine[]
  /** For each normalized package name, every source that asked for it and its spec. */
  sources: Record<string, Attribution[]>
  /** The same for constraints. */
  constraintSources: Record<string, Attribution[]>
  /**
   * URLs node packs gave with `--index-url`. They are used as extra indexes: one node pack must
   * not replace the index for all the others (seed 004 does the same).
   */
  indexUrls: string[]
  /** URLs node packs gave with `--extra-index-url`. */
  extraIndexUrls: string[]
  /** For each node-given index URL (as written), the sources that gave it: a dead index's message names them. */
  indexSources: Record<string, string[]>
  /** Informational lines (remaps, dropped options, index URLs and who gave them), redacted. */
  notes: string[]
  /** `git+https://` requirements that name no commit: they resolve to whatever the branch holds (redacted). */
  unpinnedVcs: { source: string; requirement: string }[]
  /** Families of distributions with one import name that more than one member was asked of, and the one kept. */
  families: FamilyChoice[]
  /** Index URLs node packs gave that were not used (`python.node_indexes: "deny"`), with who gave them (redacted). */
  deniedIndexes: { url: string; sources: string[] }[]
}

/** One module's family reduced to one distribution (see chooseMember). */
export interface FamilyChoice { module: string; chosen: string; rule: string; asks: Attribution[] }

/**
 * Collects the Python requirements of a version (seed 004, in TypeScript). Pure: the caller
 * reads the files and the installed versions. For every enabled node pack, each logical line
 * is sanitized (dangerous options and local references are rejected with a reason), index URLs
 * are split off, then `python.overrides`, `python.blacklist` and `python.downgrade_blacklist`
 * apply. The core's lines are collected the same way (attributed to "comfyui") and also become
 * constraints. The spec's own `python.requirements` are sanitized but trusted: overrides and
 * blacklists do not apply to them.
 */
export function collectRequirements(input: CollectInput): CollectedDeps {
  const c = new Collector(input.rules, input.installed)
  for (const text of input.rules.requirements ?? []) c.addSpecRequirement(text)
  for (const text of input.rules.constraints ?? []) c.addSpecConstraint(text)
  if (input.coreText !== undefined) c.addFile(CORE_SOURCE, input.coreText, true)
  for (const node of input.nodes) {
    if (node.enabled === false || node.text === undefined) continue
    c.addFile(node.name, node.text, false)
  }
  return reduceFamilies(c.result(), input.rules.requirements ?? [])
}

/**
 * One distribution per import name (module-families.ts): where two members of a family are asked for (opencv-python
 * by one node, opencv-contrib-python by another), every ask of the family is rewritten to the chosen member, its
 * version clauses, extras and marker kept (the members share version numbers). Direct URLs are left as written.
 */
function reduceFamilies(c: CollectedDeps, specRequirements: readonly string[]): CollectedDeps {
  const specPinned = specRequirements.map(r => parseRequirement(r)?.key).filter((k): k is string => !!k)
  const families: FamilyChoice[] = []
  const renames = new Map<string, string>()
  for (const family of MODULE_FAMILIES) {
    const asked = family.members.map(m => m.name).filter(n => c.sources[n]?.length)
    // The spec's own requirements are among the asks: a member it names and a node's other member make two.
    if (asked.length < 2) continue
    const choice = chooseMember(family, asked, specPinned)
    const asks = asked.flatMap(n => c.sources[n]!)
    families.push({ module: family.module, chosen: choice.name, rule: choice.rule, asks })
    for (const n of asked) if (n !== choice.name) renames.set(n, choice.name)
  }
  if (!renames.size) return { ...c, families }
  const rename = (spec: string): string => {
    const r = parseRequirement(spec)
    const to = r && !r.url ? renames.get(r.key) : undefined
    return r && to ? spec.replace(/^\s*[A-Za-z0-9][A-Za-z0-9._-]*/, to) : spec
  }
  const moved = (map: Record<string, Attribution[]>) => {
    const out: Record<string, Attribution[]> = {}
    for (const [k, list] of Object.entries(map)) {
      const to = renames.get(k) ?? k
      out[to] = [...(out[to] ?? []), ...list.map(a => ({ source: a.source, spec: rename(a.spec) }))]
    }
    return out
  }
  const notes = families.map(f => `${f.module}: ${f.asks.map(a => `${a.source} asks ${redact(a.spec)}`).join('; ')} → ${f.chosen} (${f.rule}); one ${f.module} module`)
  return {
    ...c,
    requirements: c.requirements.map(r => { const to = renames.get(r.name); return to ? { ...r, name: to, spec: rename(r.spec) } : r }),
    constraints: c.constraints.map(rename),
    sources: moved(c.sources), constraintSources: moved(c.constraintSources),
    notes: [...c.notes, ...notes], families,
  }
}

/** The requirements text given to the resolver: one line per distinct spec, in collection order. */
export function requirementLines(collected: CollectedDeps): string[] {
  return [...new Set(collected.requirements.map(r => r.spec))]
}

export function renderRequirementsIn(collected: CollectedDeps): string {
  const lines = requirementLines(collected)
  return lines.length ? `${lines.join('\n')}\n` : ''
}

export function renderConstraints(collected: CollectedDeps): string {
  const lines = [...new Set(collected.constraints)]
  return lines.length ? `${lines.join('\n')}\n` : ''
}


/** A JSON-safe, redacted summary for task output and --json. */
export function collectedSummary(c: CollectedDeps): {
  requirements: number; packages: number; constraints: number
  skipped: SkippedLine[]; notes: string[]; indexUrls: string[]; extraIndexUrls: string[]
  indexSources: Record<string, string[]>; deniedIndexes: { url: string; sources: string[] }[]; families: FamilyChoice[]
} {
  return {
    requirements: requirementLines(c).length,
    packages: Object.keys(c.sources).length,
    constraints: c.constraints.length,
    skipped: c.skipped,
    notes: c.notes,
    indexUrls: c.indexUrls.map(redact),
    extraIndexUrls: c.extraIndexUrls.map(redact),
    indexSources: Object.fromEntries(Object.entries(c.indexSources ?? {}).map(([u, who]) => [redact(u), who])),
    deniedIndexes: c.deniedIndexes ?? [],
    families: (c.families ?? []).map(f => ({ ...f, asks: f.asks.map(a => ({ source: a.source, spec: redact(a.spec) })) })),
  }
}

// --- internal ---

class Collector {
  private readonly requirements: CollectedRequirement[] = []
  private readonly constraints: string[] = []
  private readonly skipped: SkippedLine[] = []
  private readonly sources = new Map<string, Attribution[]>()
  private readonly constraintSources = new Map<string, Attribution[]>()
  private readonly indexUrls = new Set<string>()
  private readonly extraIndexUrls = new Set<string>()
  private readonly indexSources = new Map<string, string[]>()
  private readonly notes: string[] = []
  private readonly unpinnedVcs: { source: string; requirement: string }[] = []
  private readonly exactOverrides = new Map<string, string>()
  private readonly blacklist: Set<string>
  private readonly downgradeBlacklist: Set<string>
  private readonly denyIndexes: boolean
  private readonly denied = new Map<string, string[]>()

  constructor(rules: CollectRules, private readonly installed: ReadonlyMap<string, string>) {
    for (const [from, to] of Object.entries(rules.overrides ?? {})) {
      // Seed 004 matches the exact line: a key `numpy` remaps the line `numpy`, never `numpy>=1.26` (its bounds stay).
      this.exactOverrides.set(squash(from), to.trim())
    }
    this.blacklist = new Set((rules.blacklist ?? []).map(normalizeName))
    this.downgradeBlacklist = new Set((rules.downgrade_blacklist ?? []).map(normalizeName))
    this.denyIndexes = rules.node_indexes === 'deny'
  }

  addSpecRequirement(text: string): void {
    const line = this.sanitize(SPEC_SOURCE, text)
    if (line) this.add(SPEC_SOURCE, line.text, line.parsed)
  }

  addSpecConstraint(text: string): void {
    const line = this.sanitize(SPEC_SOURCE, text)
    if (line) this.addConstraint(SPEC_SOURCE, line.parsed, line.text)
  }

  addFile(source: string, text: string | Uint8Array, isCore: boolean): void {
    const decoded = typeof text === 'string' ? text.replace(/^\uFEFF/, '') : decodeRequirements(text)
    for (const { line, lineNo } of logicalLines(decoded)) {
      const req = this.sanitize(source, line, lineNo)
      if (!req) continue
      if (isCore) this.addConstraint(source, req.parsed, formatWithoutExtras(req.parsed))
      this.addFiltered(source, req.text, req.parsed, line, lineNo)
    }
  }

  result(): CollectedDeps {
    return {
      requirements: this.requirements,
      constraints: this.constraints,
      skipped: this.skipped,
      sources: Object.fromEntries(this.sources),
      constraintSources: Object.fromEntries(this.constraintSources),
      indexUrls: [...this.indexUrls],
      extraIndexUrls: [...this.extraIndexUrls],
      indexSources: Object.fromEntries(this.indexSources),
      notes: this.notes,
      unpinnedVcs: this.unpinnedVcs,
      families: [],
      deniedIndexes: [...this.denied].map(([url, sources]) => ({ url: redact(url), sources })),
    }
  }

  /** Applies the seed's rules to one line; the requirement when one remains to collect. */
  private sanitize(source: string, line: string, lineNo?: number): { text: string; parsed: Requirement } | undefined {
    const s = sanitizeLine(line)
    if (s.kind === 'rejected') { this.skip(source, line, lineNo, s.reason); return undefined }
    if (this.denyIndexes && source !== SPEC_SOURCE) {
      for (const url of [...s.indexUrls, ...s.extraIndexUrls]) {
        const who = this.denied.get(url) ?? []
        if (!who.length) this.notes.push(`${source}: index ${redact(url)} is not used (python.node_indexes is "deny")`)
        if (!who.includes(source)) this.denied.set(url, [...who, source])
      }
      s.indexUrls.length = 0
      s.extraIndexUrls.length = 0
    }
    for (const url of [...s.indexUrls, ...s.extraIndexUrls]) {
      const who = this.indexSources.get(url) ?? []
      if (!who.includes(source)) this.indexSources.set(url, [...who, source])
    }
    for (const url of s.indexUrls) {
      if (!this.indexUrls.has(url)) this.notes.push(`${source}: --index-url ${redact(url)} is used as an extra index (a node pack cannot replace the index for all)`)
      this.indexUrls.add(url)
    }
    for (const url of s.extraIndexUrls) {
      if (!this.extraIndexUrls.has(url)) this.notes.push(`${source}: --extra-index-url ${redact(url)}`)
      this.extraIndexUrls.add(url)
    }
    if (s.kind === 'accepted' && s.dropped.length) this.notes.push(`${source}: dropped ${s.dropped.map(d => redact(d)).join(' ')} from "${redact(line)}"`)
    return s.requirement
  }

  /** Overrides, blacklist and downgrade blacklist (node packs and the core only). */
  private addFiltered(source: string, text: string, parsed: Requirement, line: string, lineNo: number): void {
    // The line as written, or without its marker (the marker then still decides where the replacement applies).
    const override = this.exactOverrides.get(squash(text)) ?? (parsed.marker ? this.exactOverrides.get(squash(text.slice(0, text.indexOf(';')))) : undefined)
    if (override !== undefined && override !== text) {
      if (!override) { this.skip(source, line, lineNo, 'removed by python.overrides'); return }
      const remapped = parseRequirement(override)
      if (!remapped || sanitizeLine(override).kind === 'rejected') {
        this.skip(source, line, lineNo, `python.overrides maps it to "${redact(override)}", which is not an acceptable requirement`)
        return
      }
      // A marker on the original line still decides where the replacement applies.
      const withMarker = parsed.marker && !remapped.marker ? `${override}${remapped.url ? ' ' : ''}; ${parsed.marker}` : override
      this.notes.push(`${source}: "${redact(text)}" remapped to "${redact(withMarker)}" (python.overrides)`)
      text = withMarker
      parsed = parseRequirement(withMarker) ?? remapped
    }
    if (this.blacklist.has(parsed.key)) { this.skip(source, line, lineNo, `blacklisted (python.blacklist has ${parsed.key})`); return }
    if (this.downgradeBlacklist.has(parsed.key)) {
      const reason = downgradeReason(parsed, this.installed.get(parsed.key))
      if (reason) { this.skip(source, line, lineNo, reason); return }
    }
    this.add(source, text, parsed)
  }

  private add(source: string, spec: string, parsed: Requirement): void {
    if (parsed.url && vcsPin(parsed.url)?.pinned === false) {
      this.unpinnedVcs.push({ source, requirement: redact(spec) })
      this.notes.push(`${source}: "${redact(spec)}" is a VCS requirement not pinned to a commit (add @<40-hex commit> to the URL to pin it)`)
    }
    this.requirements.push({ name: parsed.key, spec, source })
    attribute(this.sources, parsed.key, { source, spec })
  }

  private addConstraint(source: string, parsed: Requirement, spec: string): void {
    // A bare name constrains nothing.
    if (!parsed.clauses.length && !parsed.url) return
    this.constraints.push(spec)
    attribute(this.constraintSources, parsed.key, { source, spec })
  }

  private skip(source: string, line: string, lineNo: number | undefined, reason: string): void {
    this.skipped.push({ source, line: redact(line), ...(lineNo === undefined ? {} : { lineNo }), reason })
  }
}

/** A line with runs of whitespace made one space, for comparing override keys with lines. */
const squash = (line: string): string => line.trim().replace(/\s+/g, ' ')

function attribute(map: Map<string, Attribution[]>, key: string, a: Attribution): void {
  const list = map.get(key)
  if (!list) { map.set(key, [a]); return }
  if (!list.some(x => x.source === a.source && x.spec === a.spec)) list.push(a)
}
