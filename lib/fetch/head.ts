import type { Dispatcher } from 'undici'
import type { AuthRule } from './auth-rule.ts'
import { err, ok, type Result } from '../result.ts'
import { header, requestFollowingRedirects, shownUrl, statusProblem } from './http-request.ts'
import type { DownloadProblem } from './problems.ts'
import { isHtmlContentType, looksLikeHtml, webPageMessage } from './web-page.ts'

export interface HeadMetadata {
  size?: number
  /** Only from a header that publishes the content's sha256 (Hugging Face's X-Linked-Etag). */
  sha256?: string
  /** The final answer's ETag, as sent (an ordinary ETag is not a sha256). */
  etag?: string
  /** Where the redirects ended, without query string or userinfo (signed CDN URLs are not kept). */
  finalUrl?: string
}

export interface HeadOptions {
  rules: readonly AuthRule[]
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal | undefined
  /** Default 30 s. */
  timeoutMs?: number
  dispatcher?: Dispatcher | undefined
}

const HEX64 = /^[0-9a-f]{64}$/

/** An ETag without `W/` and quotes; a sha256 only when it is 64 lowercase hex characters. */
export function sha256FromEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined
  const bare = etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1').toLowerCase()
  return HEX64.test(bare) ? bare : undefined
}

/**
 * What the host says about a file without downloading it: one HEAD, following redirects with the same
 * credential rules as a download. `X-Linked-Etag` / `X-Linked-Size` (sent by Hugging Face on the redirect to
 * its CDN) give the sha256 and size; then the chain stops there. Otherwise the size is the final answer's
 * Content-Length and no sha256 is claimed. `file://` URLs are not handled here (hash them into the store).
 */
export async function headMetadata(url: string, o: HeadOptions): Promise<Result<HeadMetadata, DownloadProblem>> {
  let linkedEtag: string | undefined
  let linkedSize: string | undefined
  const timeout = o.timeoutMs ?? 30_000
  const answered = await requestFollowingRedirects(url, {
    method: 'HEAD', rules: o.rules, env: o.env, signal: o.signal, dispatcher: o.dispatcher,
    headersTimeoutMs: timeout, bodyTimeoutMs: timeout,
    onRedirect: hop => {
      linkedEtag ??= header(hop.headers, 'x-linked-etag')
      linkedSize ??= header(hop.headers, 'x-linked-size')
      return !(sha256FromEtag(linkedEtag) && linkedSize)
    },
  })
  if (!answered.ok) return answered
  const res = answered.value
  await res.body.dump().catch(() => {})
  const redirected = res.status >= 300 && res.status < 400
  if (!redirected && (res.status < 200 || res.status >= 300)) return err(await statusProblem(res, shownUrl(url)))
  if (!redirected && isHtmlContentType(header(res.headers, 'content-type'))) {
    return err({ reason: 'web-page', message: webPageMessage(shownUrl(url), `Content-Type ${header(res.headers, 'content-type')}`) })
  }
  linkedEtag ??= header(res.headers, 'x-linked-etag')
  linkedSize ??= header(res.headers, 'x-linked-size')
  const out: HeadMetadata = {}
  const sha = sha256FromEtag(linkedEtag)
  if (sha) out.sha256 = sha
  const size = Number(linkedSize ?? (redirected ? undefined : header(res.headers, 'content-length')))
  if (Number.isSafeInteger(size) && size >= 0) out.size = size
  const etag = header(res.headers, 'etag')
  if (etag && !redirected) out.etag = etag
  // A host that publishes no hash may still label a page as a binary: its first bytes tell, before a size is pinned.
  if (!out.sha256 && !redirected && await startsAsHtml(url, o, timeout)) {
    return err({ reason: 'web-page', message: webPageMessage(shownUrl(url), 'its first bytes are an HTML document') })
  }
  const final = new URL(res.url)
  final.search = ''
  final.hash = ''
  out.finalUrl = final.href
  return ok(out)
}

/** The first bytes of the file (a ranged GET, stopped after them): whether they begin an HTML page. False when they cannot be read. */
async function startsAsHtml(url: string, o: HeadOptions, timeoutMs: number): Promise<boolean> {
  const answered = await requestFollowingRedirects(url, {
    method: 'GET', headers: { range: `bytes=0-${SNIFF_BYTES - 1}` }, rules: o.rules, env: o.env, signal: o.signal, dispatcher: o.dispatcher,
    headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs,
  })
  if (!answered.ok) return false
  const res = answered.value
  const chunks: Buffer[] = []
  let read = 0
  try {
    if (res.status !== 200 && res.status !== 206) return false
    // A host that ignores Range sends the whole file: stop once the first bytes are in.
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer)
      read += (chunk as Buffer).length
      if (read >= SNIFF_BYTES) break
    }
  } catch {
    return false
  } finally {
    res.body.destroy()
  }
  return looksLikeHtml(Buffer.concat(chunks).subarray(0, SNIFF_BYTES).toString('latin1'))
}

const SNIFF_BYTES = 512

/** Codes that say no connection to the host could be made: a GET would fail the same way. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

/**
 * What a failed HEAD says about the file. HEAD only asks for metadata, and hosts refuse it while a GET works (a
 * presigned S3 GET URL answers HEAD with 403, some servers answer 405 or never answer), so most failures mean only
 * that there is no metadata (`unanswered`, with `why` for the user). `missing`: the host says the file does not
 * exist (404, 410). `failed`: nothing could be asked at all (no connection, a redirect a download would not follow
 * either, cancelled).
 */
export function headFailure(p: DownloadProblem): { kind: 'missing' | 'failed' } | { kind: 'unanswered'; why: string } {
  switch (p.reason) {
    case 'http-status':
      if (p.status === 404 || p.status === 410) return { kind: 'missing' }
      // A 401 or 403 message names the token that is missing or was refused: worth keeping whole.
      return { kind: 'unanswered', why: p.status === 401 || p.status === 403 ? p.message : `${p.status} from ${p.host}` }
    case 'timeout':
      return p.code && UNREACHABLE.has(p.code) ? { kind: 'failed' } : { kind: 'unanswered', why: 'timed out' }
    case 'network':
      return p.code && UNREACHABLE.has(p.code) ? { kind: 'failed' } : { kind: 'unanswered', why: p.message }
    case 'redirect': case 'cancelled': case 'offline': case 'io': case 'hash-mismatch': case 'size-mismatch': case 'web-page':
      return { kind: 'failed' }
  }
}
