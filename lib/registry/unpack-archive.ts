import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import type { Entry, ZipFile } from 'yauzl'
import { err, ok, type Result } from '../result.ts'

/** Why an archive is refused; nothing was written. */
export interface ArchiveProblem { reason: 'unsafe-entry' | 'bad-archive'; message: string }

const S_IFMT = 0o170000
const S_IFLNK = 0o120000

/**
 * The archive's names in its own order (Python's `namelist()`, which ComfyUI-Manager writes into `.tracking`),
 * refused as a whole when one entry would land outside the folder it is unpacked into: an absolute path, a `..`
 * segment, a backslash, or a symbolic link (which could point anywhere and be written through by a later entry).
 */
export async function archiveNames(zipPath: string): Promise<Result<string[], ArchiveProblem>> {
  const names: string[] = []
  const walked = await walk(zipPath, async entry => { names.push(entry.fileName) })
  return walked.ok ? ok(names) : walked
}

/** Unpacks a checked archive into `dest` (an empty folder): every entry is checked before the first is written. */
export async function unpackArchive(zipPath: string, dest: string): Promise<Result<string[], ArchiveProblem>> {
  const names = await archiveNames(zipPath)
  if (!names.ok) return names
  const walked = await walk(zipPath, async (entry, zip) => {
    const target = join(dest, entry.fileName)
    if (entry.fileName.endsWith('/')) { await mkdir(target, { recursive: true }); return }
    await mkdir(dirname(target), { recursive: true })
    const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))))
    await pipeline(stream, createWriteStream(target, { flags: 'wx' }))
  })
  return walked.ok ? names : walked
}

/** Calls `each` for every entry in order, after checking it; stops at the first problem. */
async function walk(zipPath: string, each: (entry: Entry, zip: ZipFile) => Promise<void>): Promise<Result<void, ArchiveProblem>> {
  const yauzl = await import('yauzl')
  let zip: ZipFile
  try {
    // decodeStrings makes yauzl refuse absolute paths, ".." segments and backslashes in names (as "invalid relative path").
    zip = await new Promise<ZipFile>((resolve, reject) =>
      yauzl.default.open(zipPath, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, autoClose: true }, (e, z) => (e ? reject(e) : resolve(z))))
  } catch (e) {
    return err({ reason: 'bad-archive', message: `not a zip archive (${(e as Error).message})` })
  }
  return new Promise(resolve => {
    let done = false
    const finish = (r: Result<void, ArchiveProblem>) => { if (!done) { done = true; zip.close(); resolve(r) } }
    zip.on('error', (e: Error) => finish(err(entryProblem(e))))
    zip.on('end', () => finish(ok(undefined)))
    zip.on('entry', (entry: Entry) => {
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) {
        finish(err({ reason: 'unsafe-entry', message: `the archive holds a symbolic link (${entry.fileName}); refused, nothing was written` }))
        return
      }
      each(entry, zip).then(() => { if (!done) zip.readEntry() }, e => finish(err(entryProblem(e as Error))))
    })
    zip.readEntry()
  })
}

function entryProblem(e: Error): ArchiveProblem {
  const m = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/.exec(e.message)
  if (m) return { reason: 'unsafe-entry', message: `the archive entry "${m[2]}" would land outside the node's folder; refused, nothing was written` }
  return { reason: 'bad-archive', message: `the archive cannot be read (${e.message})` }
}
