import { createReadStream } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '../util/atomic.ts'
import type { HashState } from './hashing-sink.ts'

/**
 * What is known about an incomplete download, kept beside it as `<partial>.json` so that a later process can
 * resume it: which URL it came from (as a hash: no URL, no token is stored) and the validator a resume sends
 * as `If-Range`. A partial without this file, or from another URL, is discarded.
 */
export interface PartialMeta {
  url_key: string
  /** A strong ETag (weak ones cannot be used with If-Range). */
  etag?: string | undefined
  last_modified?: string | undefined
  total?: number | undefined
}

/**
 * A pinned model's partial is known by the sha256 it must have, not by its URL: presigned URLs change their query
 * on every issue, and a partial keyed by URL would restart from 0 and stay behind forever. The final hash is
 * checked whatever URL the bytes came from.
 */
export const pinnedResumeKey = (sha256: string): string => `sha256-${sha256}`
export const pinnedPartialPath = (modelsDir: string, sha256: string): string => join(resolve(modelsDir), 'incomplete', pinnedResumeKey(sha256))
export const pinnedLockPath = (modelsDir: string, sha256: string): string => join(resolve(modelsDir), 'locks', `${pinnedResumeKey(sha256)}.lock`)

export const sidecarPath = (partialPath: string): string => `${partialPath}.json`

export async function readPartialMeta(partialPath: string): Promise<PartialMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(sidecarPath(partialPath), 'utf8')) as PartialMeta
    return typeof meta.url_key === 'string' ? meta : undefined
  } catch {
    return undefined
  }
}

export const writePartialMeta = (partialPath: string, meta: PartialMeta): Promise<void> =>
  writeFileAtomic(sidecarPath(partialPath), `${JSON.stringify(meta)}\n`)

/** Removes a partial and its sidecar. */
export async function discardPartial(partialPath: string): Promise<void> {
  await rm(partialPath, { force: true })
  await rm(sidecarPath(partialPath), { force: true })
}

export const fileSize = (path: string): Promise<number> => stat(path).then(s => (s.isFile() ? s.size : 0), () => 0)

/** Hashes the first `bytes` of a file: the part a previous process already downloaded. */
export async function hashPrefix(path: string, bytes: number, signal?: AbortSignal): Promise<HashState> {
  const hash = createHash('sha256')
  if (bytes === 0) return { hash, bytes: 0 }
  const stream = createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1 << 20, signal })
  let n = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) { hash.update(chunk); n += chunk.length }
  return { hash, bytes: n }
}
