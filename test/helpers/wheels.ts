import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crc32, deflateRawSync } from 'node:zlib'

export interface WheelOptions {
  /** Distribution name as published, e.g. "demo-numpy". */
  name: string
  version: string
  /** Requires-Dist lines, e.g. ["demo-b>=1", "demo-c; python_version<'3.12'"]. */
  requires?: string[]
  requiresPython?: string
  /** Extra files by path inside the wheel; default: `<pkg>/__init__.py` with a `__version__`. */
  files?: Record<string, string>
}

/** The wheel's escaped distribution name (PEP 427): runs of -_. become one underscore. */
export const wheelDistName = (name: string): string => name.replace(/[-_.]+/g, '_')

/**
 * Writes a real, pip-installable pure-Python wheel into `dir` and returns its path:
 * `<pkg>/__init__.py`, METADATA, WHEEL and RECORD, zipped by hand (no npm package).
 */
export function buildWheel(dir: string, opts: WheelOptions): string {
  mkdirSync(dir, { recursive: true })
  const dist = wheelDistName(opts.name)
  const pkg = dist.toLowerCase()
  const distInfo = `${dist}-${opts.version}.dist-info`
  const metadata = [
    'Metadata-Version: 2.1',
    `Name: ${opts.name}`,
    `Version: ${opts.version}`,
    ...(opts.requiresPython ? [`Requires-Python: ${opts.requiresPython}`] : []),
    ...(opts.requires ?? []).map(r => `Requires-Dist: ${r}`),
    '', '',
  ].join('\n')
  const wheel = ['Wheel-Version: 1.0', 'Generator: comfy-vc-test', 'Root-Is-Purelib: true', 'Tag: py3-none-any', '', ''].join('\n')
  const files: [string, Buffer][] = Object.entries(opts.files ?? { [`${pkg}/__init__.py`]: `__version__ = ${JSON.stringify(opts.version)}\n` })
    .map(([p, text]) => [p, Buffer.from(text)])
  files.push([`${distInfo}/METADATA`, Buffer.from(metadata)], [`${distInfo}/WHEEL`, Buffer.from(wheel)])
  const record = files.map(([p, data]) => `${p},sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}`)
  record.push(`${distInfo}/RECORD,,`, '')
  files.push([`${distInfo}/RECORD`, Buffer.from(record.join('\n'))])
  const path = join(dir, `${dist}-${opts.version}-py3-none-any.whl`)
  writeFileSync(path, zip(files))
  return path
}

/** A minimal zip archive (deflated entries, no zip64) from in-memory files. */
export function zip(files: [string, Buffer][]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  // 1980-01-01 00:00 in DOS format: a fixed time keeps archives byte-identical between runs.
  const dosTime = 0, dosDate = (0 << 9) | (1 << 5) | 1
  for (const [name, data] of files) {
    const nameBuf = Buffer.from(name, 'utf8')
    const compressed = deflateRawSync(data)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)            // version needed
    local.writeUInt16LE(0x0800, 6)        // flags: UTF-8 names
    local.writeUInt16LE(8, 8)             // deflate
    local.writeUInt16LE(dosTime, 10)
    local.writeUInt16LE(dosDate, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(compressed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBuf.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(0x031e, 4)      // made by: unix, spec 3.0
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt16LE(dosTime, 12)
    central.writeUInt16LE(dosDate, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(compressed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBuf.length, 28)
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38)   // external attributes: a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBuf, compressed)
    centrals.push(central, nameBuf)
    offset += local.length + nameBuf.length + compressed.length
  }
  const centralDir = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(files.length, 8)
  end.writeUInt16LE(files.length, 10)
  end.writeUInt32LE(centralDir.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, centralDir, end])
}
