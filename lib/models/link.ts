import { constants } from 'node:fs'
import { copyFile, link, lstat, mkdir, readFile, readlink, realpath, rename, rm, stat, symlink } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { removeDeadTemps, tempSibling, writeFileAtomic } from '../util/atomic.ts'
import { err, ok, type Result } from '../result.ts'
import { guardedPath } from './safe-path.ts'
import { homeLayout } from '../layout/home.ts'
import { blobPath, blobSize, hashFile, moveIntoStore } from './store.ts'

export type LinkMode = 'symlink' | 'hardlink' | 'copy'

export interface LinkEntry { path: string; sha256: string }

/**
 * What the tool put at a path, recorded in the link task's marker after success and handed back as `previous`
 * next time. It lets `linksStand` check the links without hashing, and tells the tool's own links from a user's
 * files. `mode` is what was made (a hard link that crossed file systems is recorded as a copy).
 */
export interface LinkRecord {
  path: string
  sha256: string
  mode: LinkMode
  /** `dev:ino` of a hard link (the blob's). */
  id?: string
  /** Size and mtime of a copy. */
  size?: number
  mtimeMs?: number
}

export interface LinkProblem {
  reason: 'unsafe-path' | 'user-file' | 'missing-blob' | 'io' | 'cancelled'
  /** Relative to models/. */
  path: string
  message: string
}

export interface LinkOutcome {
  /** Made or replaced this time. */
  linked: string[]
  unchanged: string[]
  /** Tool-made links whose model left the spec. */
  removed: string[]
  /** A user's file whose sha256 was the pinned one: taken into the store and linked. */
  adopted: string[]
  /** Tool-made links of models that left the spec that a user has since replaced: kept. */
  left: string[]
  /** To record and pass as `previous` next time, and to `linksStand`. */
  records: LinkRecord[]
}

export interface LinkOptions {
  home: string
  modelsDir: string
  mode: LinkMode
  entries: readonly LinkEntry[]
  /** What the tool made last time (the records of the last success). */
  previous: readonly LinkRecord[]
  /** A JSON file where the tool keeps its records itself (e.g. `<home>/.comfy-vc/links.json`). */
  manifestPath?: string | undefined
  signal?: AbortSignal | undefined
}

/**
 * Makes `<home>/models/<path>` point at its blob for every entry (a symlink, a hard link or a copy, each put in
 * place by an atomic rename), and removes the links the tool made for models no longer listed. It never
 * overwrites a file it did not make: such a file is adopted when its sha256 is the pinned one, else reported and
 * kept. No path leaves models/. Every problem is collected; the work that could be done is done.
 * With `manifestPath`, the records are also kept there (read as more `previous`, rewritten even when some entries
 * failed), so the tool never forgets a link it made, whatever happens to the task's marker.
 */
export async function linkModels(o: LinkOptions): Promise<Result<LinkOutcome, LinkProblem[]>> {
  const root = homeLayout(resolve(o.home)).models
  const storeRoot = join(resolve(o.modelsDir), 'sha256') + sep
  const out: LinkOutcome = { linked: [], unchanged: [], removed: [], adopted: [], left: [], records: [] }
  const problems: LinkProblem[] = []
  const previous = new Map(o.previous.map(r => [r.path, r]))
  if (o.manifestPath) for (const r of await readLinkManifest(o.manifestPath)) if (!previous.has(r.path)) previous.set(r.path, r)
  const wanted = new Set(o.entries.map(e => e.path))
  const cancelled = () => problems.push({ reason: 'cancelled', path: '', message: 'linking models was cancelled' })

  for (const rec of previous.values()) {
    if (wanted.has(rec.path)) continue
    if (o.signal?.aborted) { cancelled(); break }
    try {
      const target = await guardedPath(root, rec.path, false)
      if (!target.ok) { out.left.push(rec.path); continue }
      const st = await lstat(target.value).catch(() => undefined)
      if (!st) continue
      if (await isOurs(target.value, rec, storeRoot)) { await rm(target.value, { force: true }); out.removed.push(rec.path) }
      else out.left.push(rec.path)
    } catch (e) {
      problems.push({ reason: 'io', path: rec.path, message: `models/${rec.path}: could not remove: ${(e as Error).message}` })
    }
  }

  if (!o.signal?.aborted) {
    for (const entry of o.entries) {
      if (o.signal?.aborted) { cancelled(); break }
      try {
        const r = await linkOne(root, storeRoot, entry, o, previous.get(entry.path), out)
        if (!r.ok) problems.push(r.error)
      } catch (e) {
        problems.push({ reason: 'io', path: entry.path, message: `models/${entry.path}: ${(e as Error).message}` })
      }
    }
  }
  if (o.manifestPath) {
    // What stands now, plus earlier records the tool could not act on this time (they may still be its links).
    const done = new Set([...out.records.map(r => r.path), ...out.removed, ...out.left])
    const kept = [...out.records, ...[...previous.values()].filter(r => !done.has(r.path))]
    await writeFileAtomic(o.manifestPath, `${JSON.stringify(kept, null, 2)}\n`)
  }
  return problems.length ? err(problems) : ok(out)
}

/** The records kept at a manifest path (none when it is missing or unreadable). */
export async function readLinkManifest(path: string): Promise<LinkRecord[]> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as unknown
    return Array.isArray(data) ? data.filter((r): r is LinkRecord => !!r && typeof r.path === 'string' && typeof r.sha256 === 'string' && typeof r.mode === 'string') : []
  } catch {
    return []
  }
}

async function linkOne(root: string, storeRoot: string, entry: LinkEntry, o: LinkOptions, prev: LinkRecord | undefined,
  out: LinkOutcome): Promise<Result<void, LinkProblem>> {
  const target = await guardedPath(root, entry.path)
  if (!target.ok) return err({ reason: 'unsafe-path', path: entry.path, message: target.error })
  const path = target.value
  const blob = blobPath(o.modelsDir, entry.sha256)
  const st = await lstat(path).catch(() => undefined)
  let adopted = false

  if (st?.isDirectory()) {
    return err({ reason: 'user-file', path: entry.path, message: `models/${entry.path} is a folder; it is kept (move it away to link the model there)` })
  }
  if (st) {
    const current = await describe(path, blob)
    if (current === o.mode) {
      out.unchanged.push(entry.path)
      out.records.push(await record(path, entry, o.mode))
      return ok(undefined)
    }
    const recorded = prev !== undefined && await isOurs(path, prev, storeRoot)
    // A copy the tool made of this very blob (or one a hard link fell back to) stays as it is.
    if (recorded && prev.sha256 === entry.sha256 && prev.mode === 'copy' && o.mode !== 'symlink') {
      out.unchanged.push(entry.path)
      out.records.push(prev)
      return ok(undefined)
    }
    const ours = current !== undefined || recorded || (st.isSymbolicLink() && (await readlink(path)).startsWith(storeRoot))
    if (!ours) {
      // A file (or a symlink) a user put there: adopted only when it is the pinned content.
      const source = st.isSymbolicLink() ? await realpathOrUndefined(path) : path
      const got = source ? await hashFile(source, o.signal).catch(() => undefined) : undefined
      if (!got || got.sha256 !== entry.sha256) return err({ reason: 'user-file', path: entry.path, message: keptFileMessage(entry, prev, got?.sha256) })
      // A regular file moves into the store (no second copy on disk); a user's symlink's target stays where it is.
      if (!st.isSymbolicLink()) await moveIntoStore(o.modelsDir, path, entry.sha256)
      else if (await blobSize(o.modelsDir, entry.sha256) === undefined) await copyIntoStore(o.modelsDir, source!, entry.sha256)
      adopted = true
    }
  }
  if (await blobSize(o.modelsDir, entry.sha256) === undefined) {
    return err({ reason: 'missing-blob', path: entry.path, message: `models/${entry.path}: the store has no blob for sha256 ${entry.sha256}; fetch the model first` })
  }
  const made = await place(path, blob, o.mode)
  out.records.push(await record(path, entry, made))
  ;(adopted ? out.adopted : out.linked).push(entry.path)
  return ok(undefined)
}

/**
 * Why the file at an entry's path is kept, and what to do. With a record of what the tool made there (its
 * manifest), the file is the tool's copy edited since, or what replaced its link: removing it restores the pinned
 * file. Without one, it is a user's own file, which the spec can adopt by pinning its sha256.
 */
function keptFileMessage(entry: LinkEntry, made: LinkRecord | undefined, sha256: string | undefined): string {
  if (!made) {
    return `models/${entry.path} is a file the tool did not create${sha256 ? ` and its sha256 ${sha256} is not the pinned ${entry.sha256}` : ' and it cannot be read'}; it is kept. Move it away, or pin its sha256 in the spec to use it.`
  }
  const what = made.mode === 'copy' ? 'the copy the tool made was changed' : `the ${made.mode === 'hardlink' ? 'hard link' : 'symbolic link'} the tool made was replaced`
  const found = sha256 ? `sha256 ${sha256}, pinned ${entry.sha256}` : 'it cannot be read'
  return `models/${entry.path}: ${what} (${found}); it is kept. Move it away or delete it and realize again to restore the pinned file.`
}

/** Which link to `blob` is at `path` now, if any: a symlink to it, a hard link of it; a copy cannot be told. */
async function describe(path: string, blob: string): Promise<LinkMode | undefined> {
  const st = await lstat(path, { bigint: true })
  if (st.isSymbolicLink()) return (await readlink(path)) === blob ? 'symlink' : undefined
  const b = await stat(blob, { bigint: true }).catch(() => undefined)
  if (st.isFile() && b && b.ino === st.ino && b.dev === st.dev) return 'hardlink'
  return undefined
}

/** Whether what is at `path` is what the tool recorded making there. */
async function isOurs(path: string, rec: LinkRecord, storeRoot: string): Promise<boolean> {
  const st = await lstat(path, { bigint: true }).catch(() => undefined)
  if (!st) return false
  if (st.isSymbolicLink()) {
    // Into this store, or (for a recorded symlink) to this very blob in a store that has since moved.
    const to = await readlink(path)
    return to.startsWith(storeRoot) || (rec.mode === 'symlink' && to.endsWith(`${sep}sha256${sep}${rec.sha256.slice(0, 2)}${sep}${rec.sha256}`))
  }
  if (!st.isFile()) return false
  if (rec.mode === 'hardlink') return rec.id === `${st.dev}:${st.ino}`
  if (rec.mode === 'copy') return rec.size === Number(st.size) && rec.mtimeMs === Number(st.mtimeMs)
  return false
}

/** Puts a link to `blob` at `path` through a temporary sibling and a rename; returns the mode it managed. */
async function place(path: string, blob: string, mode: LinkMode): Promise<LinkMode> {
  await removeDeadTemps(dirname(path), `${basename(path)}.link-`) // a copy a killed run left half-made
  const tmp = tempSibling(path, 'link')
  try {
    if (mode === 'symlink') { await symlink(blob, tmp); await rename(tmp, path); return 'symlink' }
    if (mode === 'hardlink') {
      try {
        await link(blob, tmp)
        await rename(tmp, path)
        return 'hardlink'
      } catch (e) {
        // Another file system (or one without hard links): a copy is the next best thing.
        if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
      }
    }
    await copyFile(blob, tmp, constants.COPYFILE_FICLONE)
    await rename(tmp, path)
    return 'copy'
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

async function record(path: string, entry: LinkEntry, mode: LinkMode): Promise<LinkRecord> {
  const rec: LinkRecord = { path: entry.path, sha256: entry.sha256, mode }
  if (mode === 'symlink') return rec
  const st = await lstat(path, { bigint: true })
  if (mode === 'hardlink') rec.id = `${st.dev}:${st.ino}`
  else { rec.size = Number(st.size); rec.mtimeMs = Number(st.mtimeMs) }
  return rec
}

async function copyIntoStore(modelsDir: string, source: string, sha256: string): Promise<void> {
  const tmp = tempSibling(join(dirname(blobPath(modelsDir, sha256)), 'adopt'))
  await mkdir(dirname(tmp), { recursive: true })
  await copyFile(source, tmp)
  await moveIntoStore(modelsDir, tmp, sha256)
}

const realpathOrUndefined = (p: string) => realpath(p).catch(() => undefined)

/**
 * A cheap check that recorded links still stand (lstat, stat and readlink only, no hashing): a symlink still
 * points at its blob and the blob is there, a hard link still is the inode the blob has now, a copy keeps its size
 * and mtime.
 */
export async function linksStand(home: string, modelsDir: string, records: readonly LinkRecord[]): Promise<boolean> {
  const root = homeLayout(resolve(home)).models
  // Side by side: this runs on every no-op realize, with one to three file system calls per model.
  const stands = await Promise.all(records.map(async rec => {
    const path = join(root, rec.path)
    const st = await lstat(path, { bigint: true }).catch(() => undefined)
    if (!st) return false
    if (rec.mode === 'symlink') {
      if (!st.isSymbolicLink()) return false
      const blob = blobPath(modelsDir, rec.sha256)
      return (await readlink(path).catch(() => undefined)) === blob && await blobSize(modelsDir, rec.sha256) !== undefined
    }
    if (rec.mode === 'hardlink') {
      // Still the blob's inode: a hard link edited in place changed the blob too, and fetch-model then put a
      // fresh blob (a new inode) in the store, which this home must be linked to again.
      const blob = await stat(blobPath(modelsDir, rec.sha256), { bigint: true }).catch(() => undefined)
      return st.isFile() && rec.id === `${st.dev}:${st.ino}` && blob?.dev === st.dev && blob.ino === st.ino
    }
    return st.isFile() && rec.size === Number(st.size) && rec.mtimeMs === Number(st.mtimeMs)
  }))
  return stands.every(Boolean)
}
