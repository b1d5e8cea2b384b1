import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../util/atomic.ts'
import { err, ok, type Result } from '../result.ts'

/** ComfyUI-Manager's record of a registry install: the archive's names, one per line (reference/comfy-registry.md §5). */
export const TRACKING_FILE = '.tracking'

/** Manager's own format: the namelist joined by "\n", no trailing newline. */
export const trackingText = (names: readonly string[]): string => names.join('\n')

/** The names a folder's `.tracking` lists, or undefined when it has none. */
export async function readTracking(dir: string): Promise<string[] | undefined> {
  const text = await readFile(join(dir, TRACKING_FILE), 'utf8').catch(() => undefined)
  return text === undefined ? undefined : text.split('\n').filter(Boolean)
}

export interface Placed {
  action: 'installed' | 'switched'
  /** Files of the previous version that the new one does not have, removed. */
  removed: number
  tracking: string
}

/**
 * Puts an unpacked archive (`unpacked`, on the same file system) at `dir`. A new install is one rename of the whole
 * folder, `.tracking` included, so a killed run leaves nothing at `dir`. Over an earlier registry install, the old
 * version's files (as its `.tracking` lists them) that the new one lacks are removed, the new files moved in, and
 * `.tracking` written last: a killed switch is finished by the next run, and files the user added stay.
 */
export async function placePack(o: { unpacked: string; names: readonly string[]; dir: string; shown: string }): Promise<Result<Placed, string>> {
  const tracking = trackingText(o.names)
  const present = await stat(o.dir).then(s => s, () => undefined)
  if (!present) {
    await writeFileAtomic(join(o.unpacked, TRACKING_FILE), tracking)
    await mkdir(dirname(o.dir), { recursive: true })
    await rename(o.unpacked, o.dir)
    return ok({ action: 'installed', removed: 0, tracking })
  }
  const old = await readTracking(o.dir)
  if (!present.isDirectory() || (old === undefined && (await readdir(o.dir)).length)) {
    return err(`${o.shown} is there already and was not installed from the registry (it has no ${TRACKING_FILE}); move it away, or remove it, and realize again`)
  }
  const fresh = new Set(o.names)
  let removed = 0
  for (const name of old ?? []) {
    if (name.endsWith('/') || fresh.has(name)) continue
    if (await rm(join(o.dir, name), { force: true }).then(() => true, () => false)) removed++
  }
  for (const name of o.names) {
    if (name.endsWith('/')) { await mkdir(join(o.dir, name), { recursive: true }); continue }
    await mkdir(dirname(join(o.dir, name)), { recursive: true })
    await rename(join(o.unpacked, name), join(o.dir, name))
  }
  await removeEmptiedFolders(o.dir, (old ?? []).filter(n => !fresh.has(n)))
  await writeFileAtomic(join(o.dir, TRACKING_FILE), tracking)
  await rm(o.unpacked, { recursive: true, force: true })
  return ok({ action: 'switched', removed, tracking })
}

/**
 * Removes a registry install that left the spec: its tracked files and the folders they leave empty. What the user
 * added stays, and then so does the folder. Returns what is left, or undefined when the folder is gone.
 */
export async function removePack(dir: string): Promise<string[] | undefined> {
  const names = await readTracking(dir)
  if (!names) return readdir(dir).catch(() => undefined)
  for (const name of names) if (!name.endsWith('/')) await rm(join(dir, name), { force: true })
  await removeEmptiedFolders(dir, names)
  await rm(join(dir, TRACKING_FILE), { force: true })
  const left = await readdir(dir).catch(() => [])
  if (!left.length) { await rmdir(dir).catch(() => {}); return undefined }
  return left
}

/** Every folder on the way to the given names, deepest first, removed when empty. */
async function removeEmptiedFolders(dir: string, names: readonly string[]): Promise<void> {
  const folders = new Set<string>()
  for (const name of names) {
    let d = name.endsWith('/') ? name.slice(0, -1) : dirname(name)
    while (d && d !== '.') { folders.add(d); d = dirname(d) }
  }
  for (const f of [...folders].sort((a, b) => b.split('/').length - a.split('/').length)) await rmdir(join(dir, f)).catch(() => {})
}
