import { cacheLayout } from '../layout/cache.ts'
import { sha256 } from '../util/hash.ts'
import { normalizeRepoUrl, repoSlug } from './repo-url.ts'

/** `<slug>-<hash>`: readable, and unique per normalized URL (so credentials or `.git` never split a mirror). */
function mirrorKey(url: string): string {
  return `${repoSlug(url)}-${sha256(normalizeRepoUrl(url)).slice(0, 12)}`
}

/** The bare mirror shared by every version (and by `validate`) for one repository URL. */
export function mirrorDir(cacheRoot: string, url: string): string {
  return cacheLayout(cacheRoot).mirror(mirrorKey(url))
}

/** The cross-process lock that guards creating and fetching into that mirror. */
export function mirrorLockPath(cacheRoot: string, url: string): string {
  return cacheLayout(cacheRoot).mirrorLock(mirrorKey(url))
}
