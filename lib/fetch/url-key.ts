import { sha256 } from '../util/hash.ts'
import { redact } from '../util/redact.ts'

/**
 * The key of a URL in the store's index and of its partial download: a hash of the URL without userinfo,
 * fragment or secret-looking query values, so the same file under another token is the same key.
 */
export function urlKey(url: string): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  u.hash = ''
  return sha256(redact(u.href)).slice(0, 32)
}
