import { redact } from '../util/redact.ts'

/** `[user@]host:path` (scp-like syntax, what `git@github.com:owner/repo` is): no scheme, a colon before any slash. */
const SCP_LIKE = /^(?:([^@/:\s]+)@)?([^/:\s]+):(?!\/\/)(.+)$/
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ssh:': '22', 'git:': '9418' }

/**
 * The canonical form of a repository URL, used for fingerprints and mirror keys (never to talk to
 * the remote): lowercase scheme and host, no credentials, no default port, no trailing `/` or `.git`;
 * `git@host:path` and `ssh://git@host/path` give the same result (`ssh://host/path`).
 */
export function normalizeRepoUrl(url: string): string {
  const text = url.trim()
  const scp = SCHEME.test(text) ? undefined : SCP_LIKE.exec(text)
  if (scp) return `ssh://${scp[2]!.toLowerCase()}/${trimRepoPath(scp[3]!.replace(/^\/+/, ''))}`
  let parsed: URL
  try { parsed = new URL(text) } catch { return trimRepoPath(redact(text)) }
  const scheme = parsed.protocol.toLowerCase()
  const port = parsed.port && parsed.port !== DEFAULT_PORT[scheme] ? `:${parsed.port}` : ''
  const path = trimRepoPath(parsed.pathname)
  const query = parsed.search ? redact(parsed.search) : ''
  return `${scheme}//${parsed.hostname.toLowerCase()}${port}${path}${query}`
}

/**
 * The URL as the user wrote it, minus what must never be stored (a remote's config, a log line):
 * the whole userinfo for http(s) (a token is often the user name), only the password otherwise
 * (`git@` is a login, not a secret). Fetches use the URL as given; this is what gets written down.
 */
export function withoutCredentials(url: string): string {
  const text = url.trim()
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i.exec(text)
  if (!m) return text
  const scheme = m[1]!.toLowerCase()
  const user = m[2]!.split(':')[0]!
  const keep = scheme.startsWith('http') || !user ? '' : `${user}@`
  return `${m[1]}${keep}${text.slice(m[0].length)}`
}

/** A short, file-name-safe name for the repository: its last two path segments. */
export function repoSlug(url: string): string {
  const normalized = normalizeRepoUrl(url).replace(/\?.*$/, '')
  const path = normalized.replace(SCHEME, '').split('/').slice(1).filter(Boolean)
  const slug = path.slice(-2).join('-').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 48)
  return slug || 'repo'
}

function trimRepoPath(path: string): string {
  return path.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+$/, '')
}
