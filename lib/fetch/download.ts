import { createHash } from 'node:crypto'
import { mkdir, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import type { AuthRule } from './auth-rule.ts'
import type { Limit, Release } from '../util/limit.ts'
import { acquireLock } from '../util/lock.ts'
import { err, ok, type Result } from '../result.ts'
import { secretsFor } from './auth.ts'
import { HashingFileSink, openForSink, type HashState } from './hashing-sink.ts'
import { shownUrl } from './http-request.ts'
import { discardPartial, fileSize, hashPrefix, readPartialMeta, writePartialMeta } from './partial.ts'
import { isRetryable, problemFromError, type DownloadProblem } from './problems.ts'
import { fileLooksLikeHtml, webPageMessage } from './web-page.ts'
import { createProgressMeter, formatBytes, type Progress } from './progress.ts'
import { openFile, openHttp, type Opened } from './sources.ts'
import { urlKey } from './url-key.ts'

export interface DownloadOptions {
  /** http(s):// or file://. */
  url: string
  /** Where the bytes go while incomplete; kept on failure and resumed by the next call with the same URL. */
  partialPath: string
  /**
   * What a partial must have been started for to be resumed: the URL's key by default. A pinned model passes
   * {@link pinnedResumeKey}: a re-issued presigned URL (another query) then resumes the bytes already fetched.
   */
  resumeKey?: string | undefined
  /** The model's path, for messages. */
  name?: string
  expectedSha256?: string | undefined
  expectedSize?: number | undefined
  rules: readonly AuthRule[]
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal | undefined
  /** Called at most about 4 times a second, and once at the end. */
  onProgress?: ((p: Progress) => void) | undefined
  /** Told when the wait for the partial's lock lasts (another process writing it). */
  onWait?: ((line: string) => void) | undefined
  headersTimeoutMs: number
  /** The longest pause between two body chunks. */
  bodyTimeoutMs: number
  /** Further attempts after a 5xx/408/429, a dropped connection or a timeout (default 4); getting further than any
   * attempt before resets the count. */
  retries?: number
  /** The first pause between attempts (default 1000 ms), doubled each time, at most 30 s. */
  retryDelayMs?: number
  /** Bounds how many downloads run at once; a download waiting for a slot is cancelled through `signal` too. */
  limit?: Limit | undefined
  dispatcher?: Dispatcher | undefined
}

export interface Downloaded {
  sha256: string
  size: number
  /** The complete, verified file; the caller renames it into place. */
  partialPath: string
  /** Bytes that came over the network (or from the file:// source) in this call. */
  bytesFetched: number
  /** Where this call picked up a partial left by an earlier one (0 for a fresh start). */
  resumedFrom: number
}

/**
 * Downloads a URL into `partialPath`, hashing the bytes as they are written (never in a second pass).
 *
 * - Resumes a partial left by an earlier call or a killed process with `Range`, and `If-Range` when the server gave
 *   a strong ETag or a Last-Modified; a partial from another URL, or one with no validator and no pinned sha256,
 *   is discarded. A 200 answer to a range request, a range that does not fit, or a 206 whose ETag or
 *   Last-Modified is not the partial's, starts over cleanly.
 * - Retries with exponential backoff (and Retry-After) on 5xx, 408, 429, dropped connections and timeouts,
 *   continuing from the bytes already written.
 * - Checks the announced and the final size against `expectedSize`, and the sha256 against `expectedSha256`. On a
 *   mismatch the partial is deleted; when the file was assembled from a resume, it is downloaded once more from
 *   scratch first (the old part may be from an older version of the file).
 * - Cancelling through `signal` keeps the partial for the next call.
 * Holds a lock on `<partialPath>.lock` while it works, so two processes never write the same partial.
 */
export async function download(o: DownloadOptions): Promise<Result<Downloaded, DownloadProblem>> {
  const work = async () => {
    await mkdir(dirname(o.partialPath), { recursive: true })
    let release: (() => Promise<void>) | undefined
    try {
      release = await acquireLock(`${o.partialPath}.lock`, { signal: o.signal, onWait: o.onWait, waitingFor: `the partial download of ${o.name ?? shownUrl(o.url)}` })
    } catch (e) {
      return err(problemFromError(e, `waiting for ${shownUrl(o.url)}`, o.signal, []))
    }
    try { return await downloadLocked(o) } finally { await release() }
  }
  if (!o.limit) return work()
  let slot: Release
  try {
    slot = await o.limit.acquire(o.signal)
  } catch {
    // The wait for a slot rejects only when `signal` aborts it.
    return err({ reason: 'cancelled', message: `${o.name ?? shownUrl(o.url)}: download cancelled before it started` })
  }
  try { return await work() } finally { slot() }
}

async function downloadLocked(o: DownloadOptions): Promise<Result<Downloaded, DownloadProblem>> {
  const shown = shownUrl(o.url)
  const name = o.name ?? shown
  const key = o.resumeKey ?? urlKey(o.url)
  const secrets = secretsFor(o.rules, o.env)
  const isFile = new URL(o.url).protocol === 'file:'
  const pp = o.partialPath
  const meter = createProgressMeter(o.onProgress)
  const maxRetries = o.retries ?? 4
  const cancelled = (): DownloadProblem => ({ reason: 'cancelled', message: `${name}: download cancelled; it resumes on the next run` })
  let failures = 0
  let restarts = 0
  let state: HashState | undefined
  let mixed = false
  let retriedMismatch = false
  let fetched = 0
  let resumedFrom: number | undefined
  // The most bytes the partial has held: only an attempt that gets past it made progress (one that starts over
  // and stalls at the same place again must not earn new retries).
  let furthest = 0
  const madeProgress = (bytes: number): boolean => {
    if (bytes <= furthest) return false
    furthest = bytes
    return true
  }

  // Waits before the next attempt; false when the attempt budget is spent or the wait was cancelled.
  const backoff = async (p: DownloadProblem): Promise<boolean> => {
    if (!isRetryable(p) || failures >= maxRetries) return false
    failures++
    const base = Math.min((o.retryDelayMs ?? 1000) * 2 ** (failures - 1), 30_000)
    const wait = p.reason === 'http-status' && p.retryAfterS !== undefined ? Math.min(p.retryAfterS * 1000, 60_000) : base * (0.5 + Math.random() / 2)
    try { await sleep(wait, undefined, o.signal ? { signal: o.signal } : undefined) } catch { return false }
    return true
  }

  for (;;) {
    if (o.signal?.aborted) return err(cancelled())
    let meta = await readPartialMeta(pp)
    let offset = await fileSize(pp)
    if (offset > 0 && (!meta || meta.url_key !== key || (!meta.etag && !meta.last_modified && !o.expectedSha256))) {
      await discardPartial(pp)
      offset = 0
      meta = undefined
    }
    resumedFrom ??= offset
    furthest = Math.max(furthest, offset)
    if (state && state.bytes !== offset) state = undefined
    // Hash what an earlier process left while the request is on its way.
    const prefix = offset > 0 && !state ? hashPrefix(pp, offset, o.signal) : undefined
    prefix?.catch(() => {})

    const opened: Result<Opened, DownloadProblem> = isFile
      ? await openFile(o.url, offset, meta, o.signal)
      : await openHttp(o.url, offset, meta, {
        rules: o.rules, env: o.env, signal: o.signal, dispatcher: o.dispatcher,
        headersTimeoutMs: o.headersTimeoutMs, bodyTimeoutMs: o.bodyTimeoutMs,
      })
    if (!opened.ok) {
      if (opened.error.reason === 'cancelled') return err(cancelled())
      if (await backoff(opened.error)) continue
      if (o.signal?.aborted) return err(cancelled())
      return err(withName(opened.error, o.name))
    }
    const op = opened.value
    if (op.kind === 'restart') {
      if (++restarts > 3) return err({ reason: 'network', message: `${name}: ${shown} keeps answering ranges that do not fit; giving up` })
      await discardPartial(pp)
      state = undefined
      continue
    }
    if (op.total !== undefined && o.expectedSize !== undefined && op.total !== o.expectedSize) {
      if (op.kind !== 'complete') await dumpBody(op.body)
      await discardPartial(pp)
      return err(sizeMismatch(name, shown, o.expectedSize, op.total, 'the server announces'))
    }

    let fh: FileHandle | undefined
    try {
      if (op.kind === 'full') {
        await writePartialMeta(pp, { url_key: key, ...op.validator, total: op.total })
        fh = await openForSink(pp, 0)
        state = { hash: createHash('sha256'), bytes: 0 }
        mixed = false
      } else {
        state ??= prefix ? await prefix : { hash: createHash('sha256'), bytes: 0 }
        mixed = true
        if (op.kind === 'partial') fh = await openForSink(pp, state.bytes)
      }
    } catch (e) {
      if (op.kind !== 'complete') await dumpBody(op.body)
      await fh?.close().catch(() => {})
      const p = problemFromError(e, `writing ${pp}`, o.signal, secrets)
      return err(p.reason === 'cancelled' ? cancelled() : withName(p, o.name))
    }

    if (fh && op.kind !== 'complete') {
      meter.reset(state.bytes, op.total)
      const sink = new HashingFileSink(fh, state, n => { fetched += n; meter.add(n) })
      try {
        await pipeline(op.body, sink, ...(o.signal ? [{ signal: o.signal }] : []))
      } catch (e) {
        await fh.close().catch(() => {})
        const onDisk = ['write', 'fdatasync', 'ftruncate'].includes((e as NodeJS.ErrnoException | undefined)?.syscall ?? '')
        const p = problemFromError(e, onDisk ? `writing ${pp}` : `GET ${shown}`, o.signal, secrets)
        if (p.reason === 'cancelled') return err(cancelled())
        if (p.reason === 'io') return err(withName(p, o.name))
        if (madeProgress(state.bytes)) failures = 0
        if (await backoff(p)) continue
        if (o.signal?.aborted) return err(cancelled())
        const kept = await fileSize(pp)
        return err(withName({ ...p, message: `${p.message} (${formatBytes(kept)} kept; the next run resumes)` }, o.name))
      } finally {
        meter.flush()
      }
      await fh.close().catch(() => {})
      if (op.total !== undefined && state.bytes !== op.total) {
        // The body ended early without an error (no Content-Length on a dropped connection): try to resume.
        const p: DownloadProblem = { reason: 'network', message: `${shown} ended after ${state.bytes} of ${op.total} bytes` }
        if (madeProgress(state.bytes)) failures = 0
        if (await backoff(p)) continue
        return err(withName(p, o.name))
      }
    }

    const size = state.bytes
    // A host that labels its sign-in or error page as a binary still sends HTML: the bytes say what it is.
    if (await fileLooksLikeHtml(pp).catch(() => false)) {
      await discardPartial(pp)
      return err({ reason: 'web-page', message: `${name}: ${webPageMessage(shown, 'its first bytes are an HTML document')}` })
    }
    if (o.expectedSize !== undefined && size !== o.expectedSize) {
      await discardPartial(pp)
      return err(sizeMismatch(name, shown, o.expectedSize, size, 'downloaded'))
    }
    const actual = state.hash.copy().digest('hex')
    if (o.expectedSha256 && actual !== o.expectedSha256) {
      await discardPartial(pp)
      state = undefined
      if (mixed && !retriedMismatch) { retriedMismatch = true; continue }
      return err({
        reason: 'hash-mismatch', name, expected: o.expectedSha256, actual,
        message: `${name}: sha256 mismatch for ${shown}: expected ${o.expectedSha256}, got ${actual}; the download was discarded. If the file changed upstream on purpose, update the pinned sha256 in the spec.`,
      })
    }
    return ok({ sha256: actual, size, partialPath: pp, bytesFetched: fetched, resumedFrom })
  }
}

async function dumpBody(body: NodeJS.ReadableStream & { dump?: () => Promise<void> }): Promise<void> {
  if (body.dump) await body.dump().catch(() => {})
  else (body as unknown as { destroy(): void }).destroy()
}

function sizeMismatch(name: string, shown: string, expected: number, actual: number, how: string): DownloadProblem {
  return {
    reason: 'size-mismatch', name, expected, actual,
    message: `${name}: size mismatch for ${shown}: the spec says ${expected} bytes, ${how} ${actual}; the download was discarded`,
  }
}

const withName = (p: DownloadProblem, name: string | undefined): DownloadProblem =>
  !name || p.message.startsWith(`${name}:`) ? p : { ...p, message: `${name}: ${p.message}` }
