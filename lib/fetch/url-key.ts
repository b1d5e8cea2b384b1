import { sha256 } from '../util/hash.ts'

/**
 * The key of a URL in the store's index and of its partial download: a hash of the URL without userinfo or
 * fragment (neither selects the file). The query stays whole, secret-looking values included: a parameter such as
 * `key=` may name the file itself, and two files under one key would link the wrong model. Values only go
 * through the hash; no URL is stored under its key.
 */
export function urlKey(url: string): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  u.hash = ''
  return sha256(u.href).slice(0, 32)
}
