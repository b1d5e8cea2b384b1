/**
 * Removes credentials from text that may reach a log, a lock, a marker or an error:
 * `user:pass@` in URLs and the values of query parameters whose name says they are a credential.
 */
// The user may be empty (`http://:token@host`); a value stops at a quote too, so that JSON text stays JSON.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)(?:[^/@\s:"']*:[^/@\s"']*|[^/@\s:"']+)@/gi
const QUERY_PARAM = /([?&])([^=&#?\s"'<>]+)=([^&#\s"']*)/g

// Names are matched by shape rather than from a list: hosts invent new ones (hf_token, X-Amz-Security-Token…).
const SECRET_PART = /token|secret|passw(?:or)?d|signature|credential|session|auth/
// "auth" inside these words is no credential.
const NOT_SECRET_WORD = /author(?:s|ed|ing)?$/
// Too short to match inside other words: `key` (an API key), `sig` (Azure SAS), `pass`, `pwd`, `jwt`.
const SECRET_WORDS = new Set(['key', 'sig', 'pass', 'pwd', 'jwt'])
const SECRET_JOINED = /apikey|accesskey|privatekey/

/**
 * Whether a query parameter carries a credential, judged by its name: it contains token, secret, password,
 * signature, credential, session or auth, or is (or has a word) key, sig, pass, pwd, jwt, or is an api, access or
 * private key, in any case, spelling (`X-Amz-Signature`, `x_amz_signature`, `hfToken`) or url-encoding.
 * Used for redaction and by the importers that keep credentials out of specs, so both agree.
 */
export function isSecretQueryName(name: string): boolean {
  const words = decodeSafe(name).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)
  if (SECRET_JOINED.test(words.join(''))) return true
  return words.some(w => SECRET_WORDS.has(w) || (SECRET_PART.test(w) && !NOT_SECRET_WORD.test(w)))
}

const decodeSafe = (s: string) => { try { return decodeURIComponent(s) } catch { return s } }

export function redact(text: string): string {
  return text.replace(USERINFO, '$1****@')
    .replace(QUERY_PARAM, (all, sep: string, name: string) => (isSecretQueryName(name) ? `${sep}${name}=****` : all))
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
