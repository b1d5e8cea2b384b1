import { redact } from '../util/redact.ts'
import { normalizeName } from './pep440.ts'

/**
 * What kind of failure a resolver or installer run was. Only `conflict` means the requirements contradict each
 * other; the others have a cause outside them (an index, the interpreter, a build), and the per-node fallback
 * cannot help with those.
 */
export type FailureClass =
  | 'conflict' | 'not-found' | 'index-unreachable' | 'index-auth' | 'python' | 'yanked' | 'build-failed' | 'offline-miss'
  | 'unknown'

export interface ClassifiedFailure {
  class: FailureClass
  /** Normalized names of the packages the text names as the cause, in order of appearance. */
  packages: string[]
  /** Index or download URLs that did not answer or refused (redacted). */
  urls: string[]
  /** uv's `hint:` lines, kept as uv wrote them (redacted). */
  hints: string[]
  /** For build failures: the build's last output lines (redacted). */
  buildTail: string[]
  /** For `python`: what the package needs and what the environment has, as the tool said it. */
  python?: string
}

/** A title and the fix, per class: the first line of the message a user sees. */
export const FAILURE_TEXT: Record<FailureClass, { title: string; fix: string }> = {
  conflict: { title: 'the Python requirements conflict', fix: 'loosen or pin versions with python.overrides or python.constraints, disable one of the node packs, or set python.on_conflict to "per-node"' },
  'not-found': { title: 'a Python package or version was not found', fix: 'check the name and version on the index (python.index_url / python.extra_index_urls), or remap the line with python.overrides' },
  'index-unreachable': { title: 'a package index did not answer', fix: 'check the URL and the network; replace the index in python.index_url / python.extra_index_urls, or disable the node pack that added it; raise index.timeout_s / index.retries in cache.config.ts for a slow one' },
  'index-auth': { title: 'a package index refused the credentials', fix: 'put valid credentials in the index URL (python.index_url / python.extra_index_urls) or remove the index' },
  python: { title: 'the Python version is not supported by a requirement', fix: 'set python.version to a version the package supports (then the environment is made again), or pin an older release of the package in python.requirements' },
  yanked: { title: 'only yanked releases match a requirement', fix: 'pin an exact version (==) to accept a yanked release, or loosen the requirement with python.overrides' },
  'build-failed': { title: 'a Python package failed to build', fix: 'install its build prerequisites (compiler, CUDA toolkit, headers), pin a version that ships a wheel for this platform, or blacklist it (python.blacklist)' },
  'offline-miss': { title: 'a package is not in the local caches (offline)', fix: 'run once online to fill the cache, or add a folder of wheels to python.find_links' },
  unknown: { title: 'the Python resolver or installer failed', fix: 'read its output below' },
}

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?'

/**
 * Classifies the output of `uv pip compile/install` or `pip install` (with the lines of pip's `--log` file, where
 * pip puts index fetch errors). Causes outside the requirements are checked first: a package "not found" behind an
 * index that refused or did not answer is the index's fault, not the package's.
 */
export function classifyFailure(text: string, o: { offline?: boolean } = {}): ClassifiedFailure {
  const lines = text.split(/\r?\n/)
  const hints = lines.filter(l => /^\s*hint:/.test(l)).map(l => redact(l.trim()))
  const body = lines.filter(l => !/^\s*hint:/.test(l)).map(l => l.replace(/^[\s│├╰─▶×]+/u, '').trimEnd()).filter(Boolean)
  const joined = body.join('\n')
  const all = text
  const out: ClassifiedFailure = { class: 'unknown', packages: [], urls: [], hints, buildTail: [] }
  const add = (n: string | undefined) => {
    if (!n) return
    const k = normalizeName(n.replace(/[[{].*$/, ''))
    if (k !== 'one' || !/one of:/.test(joined)) if (!out.packages.includes(k)) out.packages.push(k)
  }
  const url = (u: string | undefined) => { if (u) { const r = redact(u.replace(/[`'.,)]+$/, '')); if (!out.urls.includes(r)) out.urls.push(r) } }
  const failedDownload = /Failed to (?:download(?: and build)?|build) `(.+?)`/.exec(joined)
  const subject = failedDownload ? /^(\S+?)(?:\s*@|[<>=!~;[ ]|$)/.exec(failedDownload[1]!)?.[1] : undefined

  // Offline: the cache, not the index, lacks it.
  if (/not found in the cache|network was disabled|[Nn]etwork connectivity is disabled/.test(all)) {
    out.class = 'offline-miss'
    for (const m of joined.matchAll(new RegExp(`Because (${NAME}) was not found in the cache`, 'g'))) add(m[1])
    add(subject)
    return out
  }
  // Credentials refused: uv's hint, uv's download errors, pip's log.
  const auth = [...all.matchAll(/An index URL \((\S+?)\) could not be queried due to a lack of valid authentication credentials|Could not fetch URL (\S+?): 40[13] Client Error|(?:40[13] (?:Unauthorized|Forbidden)\) for url \()(\S+?)\)|Failed to fetch credentials for (\S+)/g)]
  if (auth.length) {
    out.class = 'index-auth'
    for (const m of auth) url(m[1] ?? m[2] ?? m[3] ?? m[4])
    notFoundNames(joined, add)
    add(subject)
    return out
  }
  // An index or a download that did not answer.
  const net = [...all.matchAll(/Could not fetch URL (\S+?): connection error|Failed to fetch: `(\S+?)`[\s\S]{0,400}?(?:client error \(Connect\)|operation timed out|error sending request|server error \(5\d\d|dns error|Connection refused)|Request failed after \d+ retr(?:y|ies)[\s\S]{0,200}?Failed to fetch: `(\S+?)`|Failed to read `--find-links` URL: (\S+)/g)]
  if (net.length) {
    out.class = 'index-unreachable'
    for (const m of net) url(m[1] ?? m[2] ?? m[3] ?? m[4])
    notFoundNames(joined, add)
    add(subject)
    return out
  }
  // A build that failed (uv's "Failed to build", pip's subprocess errors).
  if (/Failed to build `|Failed to download and build `|subprocess-exited-with-error|Failed building wheel for|metadata-generation-failed/.test(all)) {
    out.class = 'build-failed'
    add(subject)
    for (const m of all.matchAll(/Failed building wheel for (\S+)|Processing \S*?\/([A-Za-z0-9._]+?)-\d[^\s/]*\.(?:tar\.gz|zip)\b/g)) add(m[1] ?? m[2])
    const stderrAt = lines.findIndex(l => /\[stderr\]|Traceback \(most recent call last\)/.test(l))
    const end = lines.findIndex((l, i) => i > stderrAt && /\[end of output\]|^\s*$/.test(l) && i > stderrAt + 1)
    out.buildTail = (stderrAt >= 0 ? lines.slice(stderrAt + 1, end > 0 ? end : undefined) : lines).map(l => l.trim()).filter(Boolean).slice(-8).map(redact)
    return out
  }
  // The interpreter is too old (or too new) for a requirement.
  const py = [...joined.matchAll(new RegExp(`Python version \\([^)]*\\) does not satisfy Python\\S* and (?:all versions of )?(${NAME})|Package '(${NAME})' requires a different Python`, 'g'))]
  if (py.length) {
    out.class = 'python'
    for (const m of py) add(m[1] ?? m[2])
    const need = /Python version \(([^)]*)\) does not satisfy (Python\S*?)(?= and)|requires a different Python: (\S+) not in '([^']+)'/.exec(joined)
    if (need) out.python = need[1] ? `needs ${need[2]}, resolving for ${need[1]}` : `needs Python${need[4]}, the environment has ${need[3]}`
    return out
  }
  const yanked = [...joined.matchAll(new RegExp(`(${NAME})==\\S+ was yanked`, 'g'))]
  if (yanked.length) { out.class = 'yanked'; for (const m of yanked) add(m[1]); return out }
  // Requirements contradict each other: pip's ResolutionImpossible, uv's "incompatible" or two specs for one package.
  if (/ResolutionImpossible|conflicting dependencies|conflicting URLs for package/.test(all) || uvContradiction(joined)) {
    out.class = 'conflict'
    for (const m of joined.matchAll(/conflicting URLs for package `([^`]+)`/g)) add(m[1])
    for (const m of joined.matchAll(new RegExp(`depends? on (${NAME})`, 'g'))) add(m[1])
    for (const m of joined.matchAll(new RegExp(`(?:you require|and) (${NAME})(?:\\[[^\\]]*\\])?(?:\\{[^}]*\\})?(?:===|==|!=|<=|>=|~=|<|>)`, 'g'))) add(m[1])
    return out
  }
  // Offline, pip reads only find_links: what is not there is missing from the local caches.
  if (notFoundNames(joined, add)) { out.class = o.offline ? 'offline-miss' : 'not-found'; return out }
  return out
}

// --- internal ---

/** Names a "not found" text gives; true when there is one. */
function notFoundNames(joined: string, add: (n: string | undefined) => void): boolean {
  let found = false
  const re = new RegExp([
    `Because (${NAME}) was not found in the (?:package registry|provided package locations)`,
    `there (?:is|are) no versions? of (${NAME})`,
    `only (${NAME})(?:[<>=!~]=?|==)\\S* is available`,
    `No matching distribution found for (${NAME})`,
    `Because (${NAME})==\\S+ has no (?:wheels|usable wheels|source distribution)`,
  ].join('|'), 'g')
  for (const m of joined.matchAll(re)) { add(m.slice(1).find(Boolean)); found = true }
  return found
}

/**
 * pubgrub's tree says "A and B are incompatible", or asks for one package with two different specifiers
 * ("you require filelock==1.0.0 and filelock==3.8.0", "depends on b==2.0.0 … you require b==1.0.0").
 */
function uvContradiction(joined: string): boolean {
  if (!/No solution found/.test(joined)) return false
  if (/are incompatible|which are incompatible|depend on one of:/.test(joined)) return true
  const specs = new Map<string, Set<string>>()
  const re = new RegExp(`(?:depends? on|you require|and) (${NAME})((?:\\[[^\\]]*\\])?(?:\\{[^}]*\\})?(?:===|==|!=|<=|>=|~=|<|>)[^\\s,]+(?:,(?:===|==|!=|<=|>=|~=|<|>)[^\\s,]+)*)(?=[\\s,]|$)(?!\\s+depends?)`, 'g')
  for (const m of joined.matchAll(re)) {
    const k = normalizeName(m[1]!)
    const set = specs.get(k) ?? new Set()
    set.add(m[2]!.replace(/\.$/, ''))
    specs.set(k, set)
  }
  return [...specs.values()].some(s => s.size > 1)
}
