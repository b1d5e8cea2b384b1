import { parseRequirement, type Requirement } from './requirement.ts'

/** What one logical line of a requirements file amounts to. */
export type SanitizedLine =
  | { kind: 'rejected'; reason: string }
  | {
    kind: 'accepted'
    /** Undefined for a line that only carries options (`--extra-index-url URL`). */
    requirement?: { text: string; parsed: Requirement }
    /** From `--index-url` / `-i`. */
    indexUrls: string[]
    /** From `--extra-index-url`. */
    extraIndexUrls: string[]
    /** Options that were dropped without rejecting the line (`--hash`). */
    dropped: string[]
  }

const REASONS: Record<string, string> = {
  requirement: 'includes another requirements file',
  constraint: 'includes a constraints file',
  editable: 'installs an editable (local or VCS) checkout',
  'find-links': 'adds a package source (only the spec\'s python.find_links are used)',
  'trusted-host': 'turns off TLS verification for a host',
  'global-option': 'passes options to a package\'s build (setup.py)',
  'install-option': 'passes options to a package\'s build (setup.py)',
  'config-settings': 'passes options to a package\'s build backend',
  'no-index': 'turns off the package index for everyone',
}
const SHORT: Record<string, string> = { r: 'requirement', c: 'constraint', e: 'editable', f: 'find-links' }
const ARCHIVE = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz)$/i

/**
 * Checks one logical line (comments already removed) against seed 004's rules. Every option is
 * looked at, at the start of the line or after a package, joined to its value (`-fhttps://…`)
 * or not; only `--index-url`/`-i` and `--extra-index-url` are honored (`--hash` is dropped),
 * every other option rejects the line. Tokens are split outside quotes, so names like
 * `re-crypto`, extras like `pkg[extra-c]` and markers never look like options.
 */
export function sanitizeLine(line: string): SanitizedLine {
  // pip and uv expand ${VAR} in requirements files: a node pack could send a token elsewhere.
  if (/\$\{[A-Za-z0-9_]+\}/.test(line)) return rejected('refers to an environment variable (it could leak a secret)')
  const tokens = tokenize(line)
  const words: string[] = []
  const out = { kind: 'accepted' as const, indexUrls: [] as string[], extraIndexUrls: [] as string[], dropped: [] as string[] }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (!t.startsWith('-')) { words.push(t); continue }
    let option: string, value: string | undefined, shown: string
    if (t.startsWith('--')) {
      const eq = t.indexOf('=')
      option = (eq < 0 ? t.slice(2) : t.slice(2, eq)).toLowerCase()
      value = eq < 0 ? undefined : t.slice(eq + 1)
      shown = `--${option}`
    } else {
      const letter = t[1] ?? ''
      option = letter === 'i' ? 'index-url' : SHORT[letter] ?? `-${letter}`
      value = t.length > 2 ? t.slice(2) : undefined
      shown = t.slice(0, 2)
      if (option.startsWith('-')) return rejected(`unsupported option ${t.slice(0, 2)} (only --index-url and --extra-index-url are honored)`)
      // pip reads `-i=URL` as the URL "=URL": the line is broken, not a local index.
      if (value?.startsWith('=')) return rejected(`${shown}=… is not how pip reads a short option (it takes "=…" as the value): write ${shown} URL or --${option}=URL`)
    }
    const reason = REASONS[option]
    if (reason) return rejected(`dangerous option ${shown}: ${reason}`)
    if (option === 'index-url' || option === 'extra-index-url' || option === 'hash') {
      if (value === undefined) value = tokens[++i]
      if (!value || value.startsWith('-')) return rejected(`${shown} without a value`)
      if (option === 'hash') { out.dropped.push(`--hash=${value}`); continue }
      if (!/^https?:\/\/\S+$/i.test(value)) return rejected(`${shown} must be an http(s):// URL (local indexes are not allowed)`)
      ;(option === 'index-url' ? out.indexUrls : out.extraIndexUrls).push(value)
      continue
    }
    return rejected(`unsupported option --${option} (only --index-url and --extra-index-url are honored)`)
  }
  if (!words.length) return out
  const text = words.join(' ')
  // A bare VCS URL (WAS Node Suite, ComfyUI-3D-Pack): pip and uv install it and read the name from its metadata, so
  // the line goes to them as written; the name guessed from `#egg=` or the repository is only for attribution.
  const vcs = bareVcsRequirement(text)
  if (vcs && 'problem' in vcs) return rejected(vcs.problem)
  const named = vcs ? vcs.text : text
  const problem = requirementProblem(named)
  if (problem) return rejected(problem)
  const parsed = parseRequirement(named)
  if (!parsed) return rejected('not a valid requirement')
  return { ...out, requirement: { text, parsed } }
}

/** Why a requirement refers to something local or unnamed, or undefined. */
function requirementProblem(text: string): string | undefined {
  const at = /^([^@]*?)\s*@\s*(\S*)/.exec(text)
  const namePart = at ? at[1]! : text.split(/[<>=!~;[(\s]/)[0]!
  if (/^[a-z][a-z0-9+.-]*:\/?\//i.test(namePart)) return 'a URL without a package name (write it as "name @ URL")'
  if (/[/\\]/.test(namePart) || /^\.\.?$/.test(namePart) || /^[A-Za-z]:/.test(namePart)) return 'path separator in the package name (local paths are not allowed)'
  if (ARCHIVE.test(namePart)) return 'refers to a local archive'
  if (at) {
    const url = at[2]!.toLowerCase()
    if (/^file:/.test(url)) return 'refers to a local file (@ file://)'
    if (/^[a-z]+\+/.test(url) && !/^git\+https:\/\//.test(url)) return `a VCS URL other than git+https:// (${url.split(':')[0]}); only git+https:// is allowed`
    if (!/^[a-z][a-z0-9+.-]*:\/\//.test(url)) return 'refers to a local path after @ (only URLs are allowed)'
  }
  return undefined
}

/** A requirement's VCS commit: pinned when the URL names a full commit hash after `@`. */
export function vcsPin(url: string): { pinned: boolean; commit?: string } | undefined {
  if (!/^git\+/i.test(url)) return undefined
  const rev = /\.git@([^#\s]+)|github\.com\/[^/\s]+\/[^/@\s]+@([^#\s]+)/i.exec(url)
  const ref = rev?.[1] ?? rev?.[2]
  return ref && /^[0-9a-f]{40}$/i.test(ref) ? { pinned: true, commit: ref.toLowerCase() } : { pinned: false }
}

// --- internal ---

/**
 * `git+https://host/owner/repo.git[@rev][#egg=name]` as `name @ git+https://…` (the name from `#egg=`, else the
 * repository's last segment); undefined for a line that is not a bare VCS URL.
 */
function bareVcsRequirement(text: string): { text: string } | { problem: string } | undefined {
  const m = /^([a-z]+)\+([a-z]+):\/\/(\S+?)(?:#(\S*))?(?:\s*;\s*(.+))?$/i.exec(text)
  if (!m) return undefined
  if (m[1]!.toLowerCase() !== 'git' || m[2]!.toLowerCase() !== 'https') return { problem: `a VCS URL other than git+https:// (${m[1]}+${m[2]}); only git+https:// is allowed` }
  const egg = /(?:^|&)egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(m[4] ?? '')?.[1]
  const segment = m[3]!.replace(/@[^/]*$/, '').replace(/\/+$/, '').split('/').pop()!.replace(/\.git$/i, '')
  const name = egg ?? segment
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name)) return { problem: 'a VCS URL whose package name cannot be told (add #egg=name)' }
  const url = `git+https://${m[3]}${m[4] ? `#${m[4]}` : ''}`
  return { text: `${name} @ ${url}${m[5] ? ` ; ${m[5]}` : ''}` }
}

const rejected = (reason: string): SanitizedLine => ({ kind: 'rejected', reason })

/** Whitespace-separated tokens; quoted strings (in markers) stay inside their token. */
function tokenize(line: string): string[] {
  if (!line.includes('"') && !line.includes('\'')) return line.split(/\s+/).filter(Boolean)
  const tokens: string[] = []
  let cur = '', quote = ''
  for (const ch of line) {
    if (quote) { cur += ch; if (ch === quote) quote = ''; continue }
    if (ch === '"' || ch === '\'') { quote = ch; cur += ch; continue }
    if (/\s/.test(ch)) { if (cur) tokens.push(cur); cur = ''; continue }
    cur += ch
  }
  if (cur) tokens.push(cur)
  return tokens
}
