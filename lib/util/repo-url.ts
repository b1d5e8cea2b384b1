import { redact } from './redact.ts'

/** `[user@]host:path` (scp-like syntax, what `git@github.com:owner/repo` is): no scheme, a colon before any slash. */
const SCP_LIKE = /^(?:([^@/:\s]+)@)?([^/:\s]+):(?!\/\/)(.+)$/
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ssh:': '22', 'git:': '9418' }

/**
 * The canonical form of a repository URL, used for fingerprints and mirror keys (never to talk to
 * the remote): lowercase scheme and host, no credentials, no default port, no trailing `/` or `.git`;
 * `git@host:path` and `ssh://git@host/path` give the same result (`ssh://host/path`).
 * Here, below both lib/git and lib/spec, so a mirror's key and an import's "same node" are one rule.
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

/** Hosts whose owner and repository names are case-insensitive: two spellings are one repository. */
const CASE_INSENSITIVE_HOSTS = new Set(['github.com', 'gitlab.com', 'codeberg.org', 'bitbucket.org'])

/** Whether two repository URLs name the same repository (`.git`, a trailing `/`, the case of a GitHub owner aside). */
export function sameRepository(a: string, b: string): boolean {
  const key = (u: string) => {
    const n = normalizeRepoUrl(u)
    const host = /^[a-z]+:\/\/([^/:]+)/.exec(n)?.[1] ?? ''
    return CASE_INSENSITIVE_HOSTS.has(host) ? n.toLowerCase() : n
  }
  return key(a) === key(b)
}

/**
 * A node URL as people paste it from a browser, split into the repository and the ref it shows:
 * `https://github.com/OWNER/REPO/tree/BRANCH` (GitLab: `/-/tree/BRANCH`) is the repository at that branch, and a
 * trailing `/` is dropped. SSH remotes (`git@host:path`, `ssh://`) and anything else are kept as given.
 */
export function splitBrowserRepoUrl(url: string): { repo: string; ref?: string } {
  const text = url.trim()
  const m = /^(https?:\/\/[^/?#]+\/[^/?#]+\/[^/?#]+?)(?:\.git)?(?:\/-)?\/tree\/([^?#]+?)\/*(?:[?#].*)?$/i.exec(text)
  if (m) return { repo: m[1]!, ref: decodeURIComponent(m[2]!) }
  if (/^https?:\/\//i.test(text)) return { repo: text.replace(/\/+$/, '') }
  return { repo: text }
}

function trimRepoPath(path: string): string {
  return path.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+$/, '')
}
