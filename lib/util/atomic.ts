import { mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { hostId } from './host-id.ts'

/**
 * The owner part of a temporary name: `<pid>@<host id>`. The host id (host and boot) tells whose pid it is, so a
 * later run removes only what a dead process of its own host left, never a live one of another pod on the volume.
 */
const owner = (): string => `${process.pid}@${hostId()}`

/** A unique sibling path for work in progress, so a final path is only ever reached by rename. */
export const tempSibling = (path: string, tag = 'tmp'): string =>
  `${path}.${tag}-${owner()}-${randomBytes(4).toString('hex')}`

/** A name without a host id (an older run's, or one made elsewhere) is judged by its pid only once this old. */
const UNTAGGED_AFTER_MS = 6 * 3600_000

/**
 * Writes a file so that readers see either the old content or the new one, never half of it (the data is on disk
 * before the rename: a crash right after cannot leave an empty file). A symbolic link is written through: its
 * target is replaced, beside itself, and the link stays. An existing file keeps its permissions (a 0600 spec
 * stays 0600).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const target = await realpath(path).catch(() => path)
  await mkdir(dirname(target), { recursive: true })
  const mode = (await stat(target).catch(() => undefined))?.mode
  const tmp = tempSibling(target)
  try {
    const handle = await open(tmp, 'wx', mode === undefined ? 0o666 : mode & 0o7777)
    try {
      await handle.writeFile(data)
      // The creation mode is masked by the umask; the old file's is given back as it was.
      if (mode !== undefined) await handle.chmod(mode & 0o7777)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, target)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
  // What a write of this file killed before its rename left (often 0 bytes): nothing else would ever remove it.
  await removeDeadTemps(dirname(target), `${basename(target)}.tmp-`)
}

/**
 * Removes `<prefix><pid>@<host id>-<8 hex>` entries of `parent` whose process is gone: the work of a killed run.
 * Only this host's are judged by their pid; one without a host id only once it is old as well.
 */
export async function removeDeadTemps(parent: string, prefix: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const m = /^(\d+)(?:@([0-9a-f]{8}))?-[0-9a-f]{8}$/.exec(name.slice(prefix.length))
    if (!m) continue
    const pid = Number(m[1])
    if (m[2] !== undefined && m[2] !== hostId()) continue
    if (isAlive(pid)) continue
    if (m[2] === undefined) {
      const st = await stat(join(parent, name)).catch(() => undefined)
      if (!st || Date.now() - st.mtimeMs < UNTAGGED_AFTER_MS) continue
    }
    await rm(join(parent, name), { recursive: true, force: true })
  }
}

/** A fresh work folder `<root>/<prefix><pid>-<hex>`, after removing those that killed runs left (they may hold a node's raw requirement lines). */
export async function makeWorkDir(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true })
  await removeDeadTemps(root, prefix)
  const dir = join(root, `${prefix}${owner()}-${randomBytes(4).toString('hex')}`)
  await mkdir(dir)
  return dir
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
}
