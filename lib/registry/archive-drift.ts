import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Entry, ZipFile } from 'yauzl'
import { TRACKING_FILE } from './place-pack.ts'

/** A deep check of an unpacked registry node: every file of its archive present with the archive's bytes. */
export async function driftFromArchive(zipPath: string, dir: string): Promise<{ status: 'ok' | 'drift' | 'missing'; detail?: string }> {
  if (!(await stat(join(dir, TRACKING_FILE)).then(() => true, () => false))) return { status: 'missing', detail: `${dir} has no ${TRACKING_FILE}` }
  const yauzl = await import('yauzl')
  const changed: string[] = [], missing: string[] = []
  try {
    const zip = await new Promise<ZipFile>((resolve, reject) => yauzl.default.open(zipPath, { lazyEntries: true, decodeStrings: true }, (e, z) => (e ? reject(e) : resolve(z))))
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject)
      zip.on('end', resolve)
      zip.on('entry', (entry: Entry) => {
        if (entry.fileName.endsWith('/')) { zip.readEntry(); return }
        compare(zip, entry, join(dir, entry.fileName)).then(state => {
          if (state === 'missing') missing.push(entry.fileName)
          else if (state === 'changed') changed.push(entry.fileName)
          zip.readEntry()
        }, reject)
      })
      zip.readEntry()
    })
  } catch (e) {
    return { status: 'missing', detail: `the archive ${zipPath} cannot be read (${(e as Error).message})` }
  }
  if (!changed.length && !missing.length) return { status: 'ok' }
  const list = (what: string, names: string[]) => (names.length ? `${what}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}` : '')
  return { status: 'drift', detail: [list('modified', changed), list('missing', missing)].filter(Boolean).join('; ') }
}

async function compare(zip: ZipFile, entry: Entry, path: string): Promise<'same' | 'changed' | 'missing'> {
  const disk = await readFile(path).catch(() => undefined)
  if (!disk) return 'missing'
  if (disk.length !== entry.uncompressedSize) return 'changed'
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => zip.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))))
  const hash = createHash('sha256')
  for await (const chunk of stream) hash.update(chunk as Buffer)
  return hash.digest('hex') === createHash('sha256').update(disk).digest('hex') ? 'same' : 'changed'
}
