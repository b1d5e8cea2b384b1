import { normalizeRepoUrl } from '../util/repo-url.ts'

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

// The canonical form lives in lib/util so lib/spec's importers share it (spec may not import git).
export { normalizeRepoUrl }

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
