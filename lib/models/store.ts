import { createReadStream } from 'node:fs'
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { tempSibling, writeFileAtomic } from '../util/atomic.ts'
import { redact } from '../util/redact.ts'
import { urlKey } from '../fetch/url-key.ts'

/**
 * The content-addressed model store under MODELS_DIR, shared by every version and every home:
 *
 *   sha256/ab/abcdef…            one read-only blob per content hash
 *   index/url/<key>.json         URL → {sha256, size}: an unpinned URL is fetched once; `validate` pins from it
 *   incomplete/<key>             a download in progress (and `<key>.json`, its resume validator)
 *   locks/<key>.lock             held while a URL is being fetched into the store
 *
 * Keys are hashes of the URL without userinfo (see urlKey); no URL is stored under its key but redacted.
 */
export const blobPath = (modelsDir: string, sha256: string): string => join(resolve(modelsDir), 'sha256', sha256.slice(0, 2), sha256)

export const partialPathFor = (modelsDir: string, url: string): string => join(resolve(modelsDir), 'incomplete', urlKey(url))

export const urlLockPath = (modelsDir: string, url: string): string => join(resolve(modelsDir), 'locks', `${urlKey(url)}.lock`)

const indexPath = (modelsDir: string, url: string): string => join(resolve(modelsDir), 'index', 'url', `${urlKey(url)}.json`)

/** One entry of the URL index. `url` is redacted and only there for people reading the store. */
export interface UrlIndexEntry {
  url: string
  sha256: string
  size: number
  recorded_at: string
}

/** What the store knows a URL served last time, or undefined. */
export async function lookupUrl(modelsDir: string, url: string): Promise<{ sha256: string; size: number } | undefined> {
  try {
    const e = JSON.parse(await readFile(indexPath(modelsDir, url), 'utf8')) as UrlIndexEntry
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256) || !Number.isSafeInteger(e.size)) return undefined
    return { sha256: e.sha256, size: e.size }
  } catch {
    return undefined
  }
}

export async function recordUrl(modelsDir: string, url: string, sha256: string, size: number): Promise<void> {
  const entry: UrlIndexEntry = { url: redact(url.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1')), sha256, size, recorded_at: new Date().toISOString() }
  await writeFileAtomic(indexPath(modelsDir, url), `${JSON.stringify(entry, null, 2)}\n`)
}

/**
 * The modification time of every verified blob, in seconds (as in the Nix store). Any later write moves it, so a
 * blob changed after it was verified shows in the same `stat` that reads its size.
 */
const SEALED_MTIME_S = 1

/** Marks a verified blob (see SEALED_MTIME_S); the owner may set the times of a read-only file. */
export const seal = (path: string): Promise<void> => utimes(path, SEALED_MTIME_S, SEALED_MTIME_S)

/** The blob's size, and whether it is as it was verified (sealed, not written to since). */
export async function blobState(modelsDir: string, sha256: string): Promise<{ size: number; sealed: boolean } | undefined> {
  const st = await stat(blobPath(modelsDir, sha256)).catch(() => undefined)
  return st?.isFile() ? { size: st.size, sealed: Math.floor(st.mtimeMs) === SEALED_MTIME_S * 1000 } : undefined
}

/** The size of a blob in the store, or undefined when it is not there. */
export async function blobSize(modelsDir: string, sha256: string): Promise<number | undefined> {
  const st = await stat(blobPath(modelsDir, sha256)).catch(() => undefined)
  return st?.isFile() ? st.size : undefined
}

/** The sha256 and size of a file, read once. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk)
    size += chunk.length
  }
  return { sha256: hash.digest('hex'), size }
}

/**
 * Puts a verified file into the store as the blob for `sha256`: renamed when it is on the same file system,
 * else copied through a temporary sibling; the source is gone afterwards. Blobs are read-only so that a
 * hard link in a home cannot be edited into a wrong blob. When the blob exists already (another process or
 * URL won the race), the source is just removed: the content is the same.
 */
export async function moveIntoStore(modelsDir: string, source: string, sha256: string): Promise<string> {
  const blob = blobPath(modelsDir, sha256)
  await mkdir(dirname(blob), { recursive: true })
  if (await blobSize(modelsDir, sha256) !== undefined) {
    await rm(source, { force: true })
    return blob
  }
  try {
    await rename(source, blob)
    await chmod(blob, 0o444)
    await seal(blob)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e
    const tmp = tempSibling(blob)
    try {
      await copyFile(source, tmp)
      await chmod(tmp, 0o444)
      await seal(tmp)
      await rename(tmp, blob)
    } catch (copyError) {
      await rm(tmp, { force: true })
      throw copyError
    }
    await rm(source, { force: true })
  }
  return blob
}
