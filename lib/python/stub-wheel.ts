import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import type { Distribution } from './distributions.ts'

/**
 * Writes, for each distribution, a wheel holding only its installed METADATA (Requires-Dist included) into `dir`,
 * for the resolver's --find-links: a kept build such as `torch 2.5.0+cu124` is on no index the spec names, and the
 * resolver must still see it, with its own dependencies, as the one candidate its constraint allows. The installer
 * never gets these files (kept distributions are left out of what it installs).
 */
export async function writeStubWheels(dir: string, dists: readonly Distribution[]): Promise<void> {
  for (const d of dists) {
    const dist = d.name.replace(/[-_.]+/g, '_')
    const info = `${dist}-${d.version}.dist-info`
    const metadata = await readFile(join(d.infoDir, 'METADATA')).catch(() => Buffer.from(`Metadata-Version: 2.1\nName: ${d.name}\nVersion: ${d.version}\n\n`))
    const wheel = Buffer.from('Wheel-Version: 1.0\nGenerator: comfy-vc (stand-in for an installed distribution)\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n')
    const record = Buffer.from(`${info}/METADATA,,\n${info}/WHEEL,,\n${info}/RECORD,,\n`)
    await writeFile(join(dir, `${dist}-${d.version}-py3-none-any.whl`), storedZip([[`${info}/METADATA`, metadata], [`${info}/WHEEL`, wheel], [`${info}/RECORD`, record]]))
  }
}

// --- internal ---

/** A zip of uncompressed entries (all a resolver reads is METADATA). */
function storedZip(files: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [], central: Buffer[] = []
  let offset = 0
  for (const [name, data] of files) {
    const n = Buffer.from(name)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6)
    local.writeUInt16LE(0, 8); local.writeUInt16LE(0, 10); local.writeUInt16LE(33, 12)
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26)
    const c = Buffer.alloc(46)
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(0x031e, 4); c.writeUInt16LE(20, 6); c.writeUInt16LE(0x0800, 8)
    c.writeUInt16LE(0, 10); c.writeUInt16LE(0, 12); c.writeUInt16LE(33, 14)
    c.writeUInt32LE(crc, 16); c.writeUInt32LE(data.length, 20); c.writeUInt32LE(data.length, 24); c.writeUInt16LE(n.length, 28)
    c.writeUInt32LE((0o100644 << 16) >>> 0, 38); c.writeUInt32LE(offset, 42)
    parts.push(local, n, data); central.push(c, n)
    offset += 30 + n.length + data.length
  }
  const dir = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10)
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16)
  return Buffer.concat([...parts, dir, end])
}
