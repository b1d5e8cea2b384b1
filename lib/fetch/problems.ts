import { redactSecrets } from '../util/redact.ts'

/**
 * Why a download, a HEAD or a store operation did not succeed. Every variant carries a `message` a user can
 * act on, already redacted (no token, no password from a URL).
 */
export type DownloadProblem =
  /** The server answered with an error status; 401/403 messages name the token that is missing or refused. */
  | { reason: 'http-status'; status: number; host: string; message: string; retryAfterS?: number }
  /** The bytes do not hash to the pinned sha256; nothing was kept. */
  | { reason: 'hash-mismatch'; name: string; expected: string; actual: string; message: string }
  | { reason: 'size-mismatch'; name: string; expected: number; actual: number; message: string }
  /** Too many redirects, or a redirect to something that is not http(s). */
  | { reason: 'redirect'; message: string }
  /** Connection refused, reset or dropped, after the retries. `code`: the system's or undici's, when there is one. */
  | { reason: 'network'; message: string; code?: string }
  /** No connection, no headers or no body bytes within the configured time, after the retries. */
  | { reason: 'timeout'; message: string; code?: string }
  | { reason: 'cancelled'; message: string }
  /** Offline mode and the object is not in the store. */
  | { reason: 'offline'; message: string }
  /** The URL gave an HTML page (by its content type or its first bytes), not a file: nothing was kept. */
  | { reason: 'web-page'; message: string }
  /** A local file system error (disk full, permissions, a missing file:// source). */
  | { reason: 'io'; message: string }

export type ProblemReason = DownloadProblem['reason']

/** Problems worth another try after a pause. */
export const isRetryable = (p: DownloadProblem): boolean =>
  p.reason === 'network' || p.reason === 'timeout' || (p.reason === 'http-status' && (p.status >= 500 || p.status === 408 || p.status === 429))

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

/** Turns what undici or the file system threw into a problem; `what` says what was going on ("GET https://…"). */
export function problemFromError(e: unknown, what: string, signal: AbortSignal | undefined, secrets: readonly string[]): DownloadProblem {
  const error = e as NodeJS.ErrnoException & { code?: string }
  const text = (m: string) => redactSecrets(m, secrets)
  if (signal?.aborted || error?.name === 'AbortError') return { reason: 'cancelled', message: text(`${what}: cancelled`) }
  const code = error?.code ?? ''
  const detail = error?.message ?? String(e)
  if (TIMEOUT_CODES.has(code)) {
    const which = code === 'UND_ERR_HEADERS_TIMEOUT' ? 'no response headers in time'
      : code === 'UND_ERR_BODY_TIMEOUT' ? 'the body stalled (no bytes in time)' : 'could not connect in time'
    return { reason: 'timeout', message: text(`${what}: ${which}`), code }
  }
  if (['ENOSPC', 'EDQUOT', 'EFBIG', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'EISDIR', 'EIO'].includes(code) && error?.syscall) {
    return { reason: 'io', message: text(`${what}: ${detail}`) }
  }
  return { reason: 'network', message: text(`${what}: ${code ? `${code} ` : ''}${detail}`.replace(/\s+$/, '')), ...(code ? { code } : {}) }
}
