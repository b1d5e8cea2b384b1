import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { AuthRule } from './auth-rule.ts'
import { redact } from '../util/redact.ts'
import { err, ok, type Result } from '../result.ts'
import { sharedAgent } from './agent.ts'
import { credentialFor, describeAuthFailure, secretsFor } from './auth.ts'
import { problemFromError, type DownloadProblem } from './problems.ts'

export interface HttpOptions {
  method: 'GET' | 'HEAD'
  /** Extra request headers (range, if-range); sent to every hop. */
  headers?: Record<string, string>
  rules: readonly AuthRule[]
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal | undefined
  headersTimeoutMs: number
  bodyTimeoutMs: number
  dispatcher?: Dispatcher | undefined
  maxRedirects?: number
  /** Called with each redirect answer; returning false stops there and returns that answer. */
  onRedirect?: (hop: { url: URL; status: number; headers: IncomingHttpHeaders }) => boolean
}

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  /** Must be consumed or dumped. */
  body: Readable & { dump(): Promise<void> }
  /** The URL that answered (after redirects), with any userinfo removed. */
  url: URL
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** A URL as it may be shown: no userinfo, secret-looking query values hidden. */
export const shownUrl = (url: string | URL): string => redact(String(url))

/**
 * One request that follows redirects itself (at most `maxRedirects`, default 5), computing the credential afresh
 * for each hop (see `credentialFor`): a token reaches only the origins its rule allows. A password in the URL
 * (`https://user:pass@host/…`) is sent as Basic auth to that origin only and never follows a redirect.
 * Error statuses are returned as responses, except 401 and 403, which become problems naming the token.
 */
export async function requestFollowingRedirects(start: string | URL, o: HttpOptions): Promise<Result<HttpResponse, DownloadProblem>> {
  const secrets = secretsFor(o.rules, o.env)
  let url = new URL(start)
  let basic: string | undefined
  if (url.username || url.password) {
    basic = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    secrets.push(url.password, basic)
    url.username = ''
    url.password = ''
  }
  const trustedOrigin = url.origin
  const shown = shownUrl(start)
  const maxRedirects = o.maxRedirects ?? 5
  // Loaded on first use (see sharedAgent).
  const { request } = await import('undici')
  const dispatcher = o.dispatcher ?? await sharedAgent()
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return err({ reason: 'redirect', message: `${shown}: redirected to a ${url.protocol} URL, which is not followed` })
    }
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...o.headers }
    const cred = credentialFor(url, o.rules, o.env, trustedOrigin)
    if (basic && url.origin === trustedOrigin) headers.authorization = basic
    else if (cred) headers[cred.header] = cred.value
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        method: o.method, headers, signal: o.signal, dispatcher,
        headersTimeout: o.headersTimeoutMs, bodyTimeout: o.bodyTimeoutMs,
      })
    } catch (e) {
      return err(problemFromError(e, `${o.method} ${shown}${hop ? ` (via ${url.host})` : ''}`, o.signal, secrets))
    }
    const location = res.headers.location
    if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
      await res.body.dump().catch(() => {})
      if (o.onRedirect && !o.onRedirect({ url, status: res.statusCode, headers: res.headers })) {
        return ok({ status: res.statusCode, headers: res.headers, body: res.body, url })
      }
      if (hop >= maxRedirects) return err({ reason: 'redirect', message: `${shown}: more than ${maxRedirects} redirects` })
      const next = new URL(location, url)
      next.username = ''
      next.password = ''
      url = next
      continue
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump().catch(() => {})
      return err({ reason: 'http-status', status: res.statusCode, host: url.host,
        message: describeAuthFailure(res.statusCode, url, o.rules, o.env, trustedOrigin, shown) })
    }
    return ok({ status: res.statusCode, headers: res.headers, body: res.body, url })
  }
}

/** The problem for an unexpected status (the body is dumped). */
export async function statusProblem(res: HttpResponse, shown: string): Promise<DownloadProblem> {
  await res.body.dump().catch(() => {})
  const hint = res.status === 404 ? ': not found (check the URL)'
    : res.status === 429 ? ': too many requests (the host is rate-limiting)'
    : res.status >= 500 ? ': server error' : ''
  const retryAfter = Number(header(res.headers, 'retry-after'))
  return { reason: 'http-status', status: res.status, host: res.url.host, message: `${res.status} from ${res.url.host}${hint} (${shown})`,
    ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterS: retryAfter } : {}) }
}

/** A single header value (undici gives arrays for repeated headers). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}
