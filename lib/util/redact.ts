/**
 * Removes credentials from text that may reach a log, a lock, a marker or an error:
 * `user:pass@` in URLs and the values of query parameters that commonly carry tokens.
 */
// The user may be empty (`http://:token@host`); a value stops at a quote too, so that JSON text stays JSON.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)(?:[^/@\s:"']*:[^/@\s"']*|[^/@\s:"']+)@/gi
const SECRET_QUERY = /([?&](?:token|access_token|api_key|apikey|key|sig|signature|auth|password)=)[^&#\s"']*/gi

export function redact(text: string): string {
  return text.replace(USERINFO, '$1****@').replace(SECRET_QUERY, '$1****')
}

/** A JSON value with every string redacted (for files: redacting serialized text could break its quoting). */
export function redactJson<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map(redactJson) as T
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactJson(v)])) as T
  return value
}

/** Also hides exact secret values (tokens read from the environment) wherever they appear. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = redact(text)
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('****')
  return out
}
