import { createReadStream } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Readable } from 'node:stream'
import { err, ok, type Result } from '../result.ts'
import { header, requestFollowingRedirects, shownUrl, statusProblem, type HttpOptions } from './http-request.ts'
import type { PartialMeta } from './partial.ts'
import { problemFromError, type DownloadProblem } from './problems.ts'
import { isHtmlContentType, webPageMessage } from './web-page.ts'

/** The validator a resumed request must match; recorded in the partial's sidecar. */
export interface Validator { etag?: string | undefined; last_modified?: string | undefined }

/** What a source answered to "give me the bytes from `offset`". */
export type Opened =
  /** The whole content from byte 0 (a fresh start, or a range the server would not honour). */
  | { kind: 'full'; total: number | undefined; validator: Validator; body: Readable }
  /** The bytes from `offset` on. */
  | { kind: 'partial'; total: number | undefined; body: Readable }
  /** The partial already holds everything. */
  | { kind: 'complete'; total: number }
  /** The partial does not fit what the source has now: discard it and start again. */
  | { kind: 'restart' }

/** Opens an http(s) URL at `offset`, with `Range` and, when the sidecar has a validator, `If-Range`. */
export async function openHttp(url: string, offset: number, meta: PartialMeta | undefined,
  o: Omit<HttpOptions, 'method' | 'headers'>): Promise<Result<Opened, DownloadProblem>> {
  const headers: Record<string, string> = {}
  if (offset > 0) {
    headers.range = `bytes=${offset}-`
    const validator = meta?.etag ?? meta?.last_modified
    if (validator) headers['if-range'] = validator
  }
  const answered = await requestFollowingRedirects(url, { ...o, method: 'GET', headers })
  if (!answered.ok) return answered
  const res = answered.value
  const length = Number(header(res.headers, 'content-length'))
  if ((res.status === 200 || res.status === 206) && isHtmlContentType(header(res.headers, 'content-type'))) {
    await res.body.dump().catch(() => {})
    return err({ reason: 'web-page', message: webPageMessage(shownUrl(url), `Content-Type ${header(res.headers, 'content-type')}`) })
  }
  if (res.status === 200) {
    const etag = header(res.headers, 'etag')
    return ok({
      kind: 'full',
      total: Number.isSafeInteger(length) ? length : undefined,
      validator: { etag: etag && !etag.startsWith('W/') ? etag : undefined, last_modified: header(res.headers, 'last-modified') },
      body: res.body,
    })
  }
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res.headers, 'content-range') ?? '')
    const total = m?.[3] && m[3] !== '*' ? Number(m[3]) : undefined
    if (!m || Number(m[1]) !== offset || (meta?.total !== undefined && total !== undefined && total !== meta.total) || changedSince(meta, res.headers)) {
      await res.body.dump().catch(() => {})
      return ok({ kind: 'restart' })
    }
    return ok({ kind: 'partial', total, body: res.body })
  }
  if (res.status === 416) {
    await res.body.dump().catch(() => {})
    const m = /^bytes \*\/(\d+)$/.exec(header(res.headers, 'content-range') ?? '')
    return ok(m && Number(m[1]) === offset ? { kind: 'complete', total: offset } : { kind: 'restart' })
  }
  return err(await statusProblem(res, shownUrl(url)))
}

/**
 * Whether a 206 answer names another version of the file than the partial's: a server that ignores `If-Range`
 * would otherwise splice its new bytes onto the old ones.
 */
function changedSince(meta: PartialMeta | undefined, headers: IncomingHttpHeaders): boolean {
  const etag = header(headers, 'etag')
  if (meta?.etag) return etag !== undefined && etag !== meta.etag
  const lastModified = header(headers, 'last-modified')
  return !!meta?.last_modified && lastModified !== undefined && lastModified !== meta.last_modified
}

/** Opens a file:// URL (a local disk, a network volume); its size and mtime serve as the validator. */
export async function openFile(url: string, offset: number, meta: PartialMeta | undefined,
  signal: AbortSignal | undefined): Promise<Result<Opened, DownloadProblem>> {
  let path: string
  try { path = fileURLToPath(url) } catch (e) {
    return err({ reason: 'io', message: `${shownUrl(url)}: not a usable file URL (${(e as Error).message})` })
  }
  const st = await stat(path).catch((e: unknown) => e as NodeJS.ErrnoException)
  if (st instanceof Error) return err(problemFromError(st, `reading ${path}`, signal, []))
  if (!st.isFile()) return err({ reason: 'io', message: `${path} is not a regular file` })
  const lastModified = String(st.mtimeMs)
  const unchanged = meta?.last_modified === lastModified && meta.total === st.size && offset <= st.size
  if (offset > 0 && unchanged && offset === st.size) return ok({ kind: 'complete', total: st.size })
  if (offset > 0 && unchanged) {
    return ok({ kind: 'partial', total: st.size, body: createReadStream(path, { start: offset, highWaterMark: 1 << 20, signal }) })
  }
  return ok({
    kind: 'full', total: st.size, validator: { last_modified: lastModified },
    body: createReadStream(path, { highWaterMark: 1 << 20, signal }),
  })
}
