import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
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

/** Removes `<prefix><pid>-<8 hex>` entries of `parent` whose process is gone: the work of a killed run. */
export async function removeDeadTemps(parent: string, prefix: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(/^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length))?.[1])
    if (pid && !isAlive(pid)) await rm(join(parent, name), { recursive: true, force: true })
  }
}

/** A fresh work folder `<root>/<prefix><pid>-<hex>`, after removing those that killed runs left (they may hold a node's raw requirement lines). */
export async function makeWorkDir(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true })
  await removeDeadTemps(root, prefix)
  const dir = join(root, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`)
  await mkdir(dir)
  return dir
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
}
