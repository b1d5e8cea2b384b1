import type { AuthRule } from './auth-rule.ts'

/** A header to send with one request, and the variable it came from (for messages; never the value). */
export interface Credential {
  header: string
  value: string
  envName: string
}

/**
 * The credential for one request, or undefined.
 *
 * The rule, applied afresh to every hop of a redirect chain:
 * - a rule matches a host name (`host`, or any subdomain of it when `subdomains` is on);
 * - it applies to the origin the download started at (`trustedOrigin`: the URL the spec names, whatever its
 *   scheme and port), and on any other origin only to `https` on the default port. So a redirect that changes the
 *   origin drops every credential unless the new origin matches a rule on its own, and never carries a token over
 *   plain http or to another port of the same host.
 * A rule's header is `authorization` (sent as `Bearer <token>`) or a custom header (sent as the bare token).
 * An empty or unset variable gives no credential.
 */
export function credentialFor(url: URL, rules: readonly AuthRule[], env: Readonly<Record<string, string | undefined>>,
  trustedOrigin: string = url.origin): Credential | undefined {
  const rule = ruleFor(url, rules, trustedOrigin)
  if (!rule) return undefined
  const token = env[rule.env]
  if (!token) return undefined
  const header = rule.header.toLowerCase()
  return { header, value: header === 'authorization' ? `Bearer ${token}` : token, envName: rule.env }
}

/** The rule that covers a URL (see {@link credentialFor}), whether or not its variable is set. */
export function ruleFor(url: URL, rules: readonly AuthRule[], trustedOrigin: string = url.origin): AuthRule | undefined {
  const originOk = url.origin === trustedOrigin || (url.protocol === 'https:' && url.port === '')
  if (!originOk) return undefined
  const host = url.hostname.toLowerCase()
  return rules.find(r => {
    const h = r.host.toLowerCase()
    return host === h || (r.subdomains && host.endsWith(`.${h}`))
  })
}

/** Every token value the rules could send, for redacting text that might echo one. */
export function secretsFor(rules: readonly AuthRule[], env: Readonly<Record<string, string | undefined>>): string[] {
  return rules.map(r => env[r.env]).filter((v): v is string => !!v)
}

/**
 * What a user should do about a 401 or 403: which variable is missing or was refused.
 * `url` is the hop that answered; `shownUrl` the redacted URL of the download, for context.
 */
export function describeAuthFailure(status: number, url: URL, rules: readonly AuthRule[],
  env: Readonly<Record<string, string | undefined>>, trustedOrigin: string, shownUrl: string): string {
  const where = `${status} from ${url.host}`
  const rule = ruleFor(url, rules, trustedOrigin)
  if (!rule) {
    const anyRule = rules.find(r => url.hostname === r.host || (r.subdomains && url.hostname.endsWith(`.${r.host}`)))
    if (anyRule) {
      return `${where}: ${anyRule.env} is not sent to ${url.origin} (credentials go only to the URL's own origin and to https on the default port); download ${shownUrl} from an https URL on ${anyRule.host}`
    }
    return `${where}: the server wants credentials and no auth rule covers ${url.hostname}; add {host: "${url.hostname}", env: "<VARIABLE>"} to auth in cache.config.ts and set that variable (${shownUrl})`
  }
  if (!env[rule.env]) {
    return `${where}: ${rule.env} is not set; set it to a token that can read ${shownUrl}`
  }
  return status === 403
    ? `${where}: ${rule.env} was refused: the token has no access to ${shownUrl} (for a gated repository, accept its terms on the website with the token's account)`
    : `${where}: ${rule.env} was refused: the token is invalid or expired; set ${rule.env} to a valid token that can read ${shownUrl}`
}
