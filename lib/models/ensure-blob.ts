import { rm, stat } from 'node:fs/promises'
import type { Dispatcher } from 'undici'
import type { AuthRule } from '../fetch/auth-rule.ts'
import type { Limit } from '../util/limit.ts'
import { acquireLock } from '../util/lock.ts'
import { err, ok, type Result } from '../result.ts'
import { download } from '../fetch/download.ts'
import { shownUrl } from '../fetch/http-request.ts'
import { discardPartial, pinnedLockPath, pinnedPartialPath, pinnedResumeKey, sidecarPath } from '../fetch/partial.ts'
import { problemFromError, type DownloadProblem } from '../fetch/problems.ts'
import type { Progress } from '../fetch/progress.ts'
import { adoptLocalFile, type LocalFileOutcome } from './adopt-local-file.ts'
import { blobPath, blobState, hashFile, lookupUrl, moveIntoStore, partialPathFor, recordUrl, seal, urlLockPath } from './store.ts'

export interface EnsureBlobOptions {
  modelsDir: string
  url: string
  /** The pinned hash; without it the URL index decides whether the URL was fetched before. */
  sha256?: string | undefined
  size?: number | undefined
  /** The model's path (`checkpoints/x.safetensors`), for messages. */
  name: string
  /** Use the store only; a missing blob is an error (file:// sources are still read: they are local). */
  offline: boolean
  rules: readonly AuthRule[]
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal | undefined
  onProgress?: ((p: Progress) => void) | undefined
  /** A line for the task's log (a changed blob fetched again, a lasting wait for another process's download). */
  onNote?: ((line: string) => void) | undefined
  /**
   * Where a copy of a pinned model may already stand (its path in the home, `models/<path>`): when the store has
   * no blob, a regular file there of the pinned size and sha256 becomes the blob, without a download (offline too).
   */
  localCopy?: { path: string; shown: string } | undefined
  timeouts: { headersMs: number; bodyMs: number }
  retries?: number
  retryDelayMs?: number
  /** Bounds concurrent downloads in this process (config concurrency.network). */
  limit?: Limit | undefined
  dispatcher?: Dispatcher | undefined
}

export interface EnsuredBlob {
  sha256: string
  size: number
  /** Absolute path of the blob in the store. */
  blob: string
  /** False when the store had it already. */
  downloaded: boolean
  bytesFetched: number
  /** Set when the blob was taken from `localCopy` (shown as given). */
  takenFrom?: string
}

/**
 * Makes sure the store holds the blob for a model and returns it.
 *
 * Pinned: the blob is used when present, else made from `localCopy` when that file holds the pinned content.
 * Unpinned: the URL index says which blob the URL gave last time. Otherwise the URL is downloaded (http(s)) or
 * copied while hashing (file://) under a lock keyed by the URL, so two processes fetch it once: the second finds
 * the blob when it gets the lock. The verified file is renamed into place atomically and the index records
 * URL → sha256. A blob that two URLs race to is written once.
 */
export async function ensureBlob(o: EnsureBlobOptions): Promise<Result<EnsuredBlob, DownloadProblem>> {
  const seen: { changedBlobId?: string } = {}
  const found = await inStore(o, seen)
  if (found) return found
  const local = await fromLocalCopy(o, seen.changedBlobId)
  if (local) return local
  const isFile = o.url.startsWith('file:')
  if (o.offline && !isFile) {
    return err({ reason: 'offline', message: `${o.name}: not in the model store and offline mode is on (${shownUrl(o.url)}); run once without --offline / COMFY_OFFLINE to download it` })
  }
  let release: () => Promise<void>
  try {
    // Keyed like the partial it guards (by sha256 when pinned), so two URLs of one model never share it unlocked.
    release = await acquireLock(o.sha256 ? pinnedLockPath(o.modelsDir, o.sha256) : urlLockPath(o.modelsDir, o.url), { signal: o.signal, onWait: o.onNote, waitingFor: `another process fetching ${shownUrl(o.url)}` })
  } catch (e) {
    return err(problemFromError(e, `${o.name}: waiting for another process fetching ${shownUrl(o.url)}`, o.signal, []))
  }
  try {
    const meanwhile = await inStore(o)
    if (meanwhile) return meanwhile
    const partialPath = o.sha256 ? pinnedPartialPath(o.modelsDir, o.sha256) : partialPathFor(o.modelsDir, o.url)
    const got = await download({
      url: o.url, partialPath, resumeKey: o.sha256 ? pinnedResumeKey(o.sha256) : undefined, name: o.name, expectedSha256: o.sha256, expectedSize: o.size,
      rules: o.rules, env: o.env, signal: o.signal, onProgress: o.onProgress, onWait: o.onNote,
      headersTimeoutMs: o.timeouts.headersMs, bodyTimeoutMs: o.timeouts.bodyMs,
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
      limit: o.limit, dispatcher: o.dispatcher,
    })
    if (!got.ok) return got
    const { sha256, size, bytesFetched } = got.value
    let blob: string
    try {
      blob = await moveIntoStore(o.modelsDir, partialPath, sha256)
      await rm(sidecarPath(partialPath), { force: true })
      await recordUrl(o.modelsDir, o.url, sha256, size)
    } catch (e) {
      await discardPartial(partialPath).catch(() => {})
      return err(problemFromError(e, `${o.name}: storing the download in ${o.modelsDir}`, o.signal, []))
    }
    return ok({ sha256, size, blob, downloaded: true, bytesFetched })
  } finally {
    await release()
  }
}

/**
 * The blob made from `o.localCopy` when that holds the pinned content (see adoptLocalFile). A copy that cannot be
 * read is only noted: the download may still succeed, and the link task names the file if it stays in the way.
 */
async function fromLocalCopy(o: EnsureBlobOptions, changedBlobId: string | undefined): Promise<Result<EnsuredBlob, DownloadProblem> | undefined> {
  if (!o.sha256 || !o.localCopy) return undefined
  const { path, shown } = o.localCopy
  let got: LocalFileOutcome | undefined
  try {
    got = await adoptLocalFile({ modelsDir: o.modelsDir, path, sha256: o.sha256, size: o.size, notId: changedBlobId, signal: o.signal })
  } catch (e) {
    if (o.signal?.aborted) return err({ reason: 'cancelled', message: `${o.name}: cancelled while reading ${shown}` })
    o.onNote?.(`${shown}: could not take it into the store (${(e as Error).message}); fetching the model instead`)
    return undefined
  }
  if (!got) return undefined
  if (!got.taken) {
    o.onNote?.(`${shown} is there, but its sha256 is ${got.sha256}, not the pinned ${o.sha256}`)
    return undefined
  }
  await recordUrl(o.modelsDir, o.url, o.sha256, got.size).catch(() => {})
  return ok({ sha256: o.sha256, size: got.size, blob: got.blob, downloaded: false, bytesFetched: 0, takenFrom: shown })
}

/**
 * The blob when the store has it already (by pinned hash, or through the URL index). A blob found changed on disk
 * is removed, and its former `dev:ino` put in `seen` (a hard link in a home may still be that file).
 */
async function inStore(o: EnsureBlobOptions, seen: { changedBlobId?: string } = {}): Promise<Result<EnsuredBlob, DownloadProblem> | undefined> {
  let sha256 = o.sha256
  if (!sha256) {
    const known = await lookupUrl(o.modelsDir, o.url)
    if (!known) return undefined
    sha256 = known.sha256
  }
  const state = await blobState(o.modelsDir, sha256)
  if (!state) return undefined
  const blob = blobPath(o.modelsDir, sha256)
  if (!state.sealed) {
    // Written to since it was verified (through a hard link, say): hashed again before it is trusted.
    const actual = await hashFile(blob, o.signal)
    if (actual.sha256 !== sha256) {
      o.onNote?.(`${o.name}: the store's blob ${sha256.slice(0, 12)}… was changed on disk (its sha256 is now ${actual.sha256.slice(0, 12)}…); fetching it again`)
      const st = await stat(blob, { bigint: true }).catch(() => undefined)
      if (st) seen.changedBlobId = `${st.dev}:${st.ino}`
      await rm(blob, { force: true })
      return undefined
    }
    await seal(blob)
  }
  const size = state.size
  if (o.size !== undefined && size !== o.size) {
    return err({
      reason: 'size-mismatch', name: o.name, expected: o.size, actual: size,
      message: `${o.name}: the spec pins ${o.size} bytes but the store's blob for sha256 ${sha256} has ${size}; one of the spec's size and sha256 is wrong`,
    })
  }
  // A pinned model found by hash also teaches the index its URL (once).
  if (o.sha256 && (await lookupUrl(o.modelsDir, o.url))?.sha256 !== sha256) await recordUrl(o.modelsDir, o.url, sha256, size).catch(() => {})
  return ok({ sha256, size, blob, downloaded: false, bytesFetched: 0 })
}
