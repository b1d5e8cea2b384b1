import { constants } from 'node:fs'
import { copyFile, link, lstat, mkdir, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { removeDeadTemps, tempSibling } from '../util/atomic.ts'
import { hashFile, moveIntoStore } from './store.ts'

export interface LocalFileOptions {
  modelsDir: string
  /** The file that may hold the content (a model's path in a home). */
  path: string
  sha256: string
  /** The pinned size; a file of another size is not read. */
  size?: number | undefined
  /** `dev:ino` of a file known not to hold the content (a blob just found changed): not hashed again. */
  notId?: string | undefined
  signal?: AbortSignal | undefined
}

/** What became of a local file: taken as the blob, or read and found to be other content. */
export type LocalFileOutcome = { taken: true; blob: string; size: number } | { taken: false; sha256: string }

/**
 * Makes a regular file that already holds a model's content the store's blob, so it need not be downloaded: the
 * file is hard-linked into the store's `incomplete/` folder (copied there when it is on another file system),
 * hashed there, and renamed into the store. The file itself stays where it is (a hard link shares the blob's
 * read-only mode and sealed mtime), so a process that dies midway loses nothing; the temporary name a dead run
 * left is removed by the next one. Undefined when there is no such file or its size is not the pinned one.
 */
export async function adoptLocalFile(o: LocalFileOptions): Promise<LocalFileOutcome | undefined> {
  const st = await lstat(o.path, { bigint: true }).catch(() => undefined)
  if (!st?.isFile() || (o.size !== undefined && Number(st.size) !== o.size) || o.notId === `${st.dev}:${st.ino}`) return undefined
  const work = join(resolve(o.modelsDir), 'incomplete')
  await mkdir(work, { recursive: true })
  await removeDeadTemps(work, 'local.adopt-')
  const tmp = tempSibling(join(work, 'local'), 'adopt')
  try {
    try {
      await link(o.path, tmp)
    } catch (e) {
      // Another file system (or one without hard links): a copy costs space, but still no download.
      if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
      await copyFile(o.path, tmp, constants.COPYFILE_FICLONE)
    }
    const before = await stat(tmp)
    const got = await hashFile(tmp, o.signal)
    if (got.sha256 !== o.sha256) return { taken: false, sha256: got.sha256 }
    // Written to while it was hashed: what was hashed may not be what would go into the store.
    const after = await stat(tmp)
    if (after.mtimeMs !== before.mtimeMs || after.size !== before.size) return undefined
    return { taken: true, blob: await moveIntoStore(o.modelsDir, tmp, o.sha256), size: got.size }
  } finally {
    // Gone once renamed into the store; otherwise only a second name of (or a copy of) the user's file.
    await rm(tmp, { force: true })
  }
}
