import { inflateSync } from 'node:zlib'
import { err, ok, type Result } from '../result.ts'

/** What an image file holds as ComfyUI saves it: the UI workflow and the API prompt, as JSON text. */
export interface EmbeddedWorkflow { workflow?: string; prompt?: string }

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** Which image format the bytes are, by their signature; undefined for anything else (JSON, YAML). */
export function imageKind(bytes: Uint8Array): 'png' | 'webp' | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png'
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp'
  return undefined
}

/**
 * The workflow ComfyUI embeds in the images it saves: PNG text chunks named "workflow" and "prompt" (tEXt, or
 * iTXt/zTXt as other tools write them); WebP EXIF strings "workflow:<json>" and "prompt:<json>" (ComfyUI's
 * SaveAnimatedWEBP puts them in IFD0's Make and Model tags, further keys below those).
 */
export function embeddedWorkflow(bytes: Uint8Array): Result<EmbeddedWorkflow, string> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const kind = imageKind(b)
  if (kind === 'png') return pngText(b)
  if (kind === 'webp') return webpExif(b)
  return err('not a PNG or WebP image')
}

function pngText(b: Buffer): Result<EmbeddedWorkflow, string> {
  const out: EmbeddedWorkflow = {}
  let at = 8
  while (at + 12 <= b.length) {
    const length = b.readUInt32BE(at)
    const type = b.toString('latin1', at + 4, at + 8)
    const data = b.subarray(at + 8, at + 8 + length)
    if (data.length < length) return err(`the PNG is cut short inside its "${type}" chunk at byte ${at}`)
    if (type === 'tEXt' || type === 'iTXt' || type === 'zTXt') {
      const text = textChunk(type, data)
      if (text && (text.key === 'workflow' || text.key === 'prompt')) out[text.key] ??= text.value
    }
    if (type === 'IEND') break
    at += 12 + length
  }
  return ok(out)
}

/** A PNG text chunk's keyword and text (PNG spec 11.3.4); undefined when it cannot be read. */
function textChunk(type: string, data: Buffer): { key: string; value: string } | undefined {
  const nul = data.indexOf(0)
  if (nul < 0) return undefined
  const key = data.toString('latin1', 0, nul)
  try {
    if (type === 'tEXt') return { key, value: data.toString('latin1', nul + 1) }
    if (type === 'zTXt') return { key, value: inflateSync(data.subarray(nul + 2)).toString('latin1') }
    // iTXt: keyword\0 compression-flag compression-method language\0 translated-keyword\0 text (UTF-8)
    const compressed = data[nul + 1] === 1
    const lang = data.indexOf(0, nul + 3)
    const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1)
    if (translated < 0) return undefined
    const text = data.subarray(translated + 1)
    return { key, value: (compressed ? inflateSync(text) : text).toString('utf8') }
  } catch { return undefined }
}

function webpExif(b: Buffer): Result<EmbeddedWorkflow, string> {
  let at = 12
  while (at + 8 <= b.length) {
    const type = b.toString('latin1', at, at + 4)
    const size = b.readUInt32LE(at + 4)
    if (type === 'EXIF') return ok(exifStrings(b.subarray(at + 8, at + 8 + size)))
    at += 8 + size + (size & 1)
  }
  return ok({})
}

/** The "key:<json>" ASCII values of a TIFF/EXIF block's first IFD. */
function exifStrings(exif: Buffer): EmbeddedWorkflow {
  const out: EmbeddedWorkflow = {}
  // Pillow writes the block with or without the JPEG-style "Exif\0\0" header.
  const t = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? exif.subarray(6) : exif
  if (t.length < 8) return out
  const le = t.toString('latin1', 0, 2) === 'II'
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o))
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o))
  const ifd = u32(4)
  if (ifd + 2 > t.length) return out
  const count = u16(ifd)
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12
    if (e + 12 > t.length) break
    const kind = u16(e + 2)
    const n = u32(e + 4)
    if (kind !== 2) continue // ASCII
    const start = n <= 4 ? e + 8 : u32(e + 8)
    const value = t.toString('utf8', start, Math.min(t.length, start + n)).replace(/\0+$/, '')
    const m = /^(workflow|prompt):/.exec(value)
    if (m) out[m[1] as 'workflow' | 'prompt'] ??= value.slice(m[0].length)
  }
  return out
}
