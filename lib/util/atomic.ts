import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'

/** A unique sibling path for work in progress, so a final path is only ever reached by rename. */
export const tempSibling = (path: string, tag = 'tmp'): string =>
  `${path}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`

/** Writes a file so that readers see either the old content or the new one, never half of it. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = tempSibling(path)
  try {
    await writeFile(tmp, data)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}
