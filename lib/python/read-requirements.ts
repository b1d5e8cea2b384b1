/**
 * Decodes a requirements file the way node packs actually ship them: UTF-8 with or without a
 * BOM, UTF-16 with a BOM (Windows editors) or without one (guessed from its NUL bytes), and
 * Latin-1 when the bytes are not valid UTF-8.
 */
export function decodeRequirements(bytes: Uint8Array): string {
  const b = bytes
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return utf8OrLatin1(b.subarray(3))
  if (b[0] === 0xff && b[1] === 0xfe) return utf16(b.subarray(2), true)
  if (b[0] === 0xfe && b[1] === 0xff) return utf16(b.subarray(2), false)
  const guess = guessUtf16(b)
  if (guess !== undefined) return utf16(b, guess === 'le')
  return utf8OrLatin1(b)
}

/**
 * Splits text into logical lines as pip reads a requirements file: a trailing backslash joins
 * the next line, and a `#` at the start or after whitespace starts a comment. Blank results
 * are dropped; each line keeps the 1-based number of the physical line it started on.
 */
export function logicalLines(text: string): { line: string; lineNo: number }[] {
  const out: { line: string; lineNo: number }[] = []
  const physical = text.split(/\r\n|\n|\r/)
  let pending: string | undefined
  let start = 0
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!.replace(/\s+$/, '')
    if (pending === undefined) start = i + 1
    // As in pip, a line with a comment never continues onto the next one.
    if (raw.endsWith('\\') && !/(^|\s)#/.test(raw)) { pending = (pending ?? '') + raw.slice(0, -1); continue }
    const line = ((pending ?? '') + stripComment(raw)).trim()
    pending = undefined
    if (line) out.push({ line, lineNo: start })
  }
  if (pending?.trim()) out.push({ line: pending.trim(), lineNo: start })
  return out
}

// --- internal ---

const stripComment = (line: string): string => line.replace(/(^|\s)#.*$/, '').replace(/\s+$/, '')

function utf8OrLatin1(b: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b)
  } catch {
    return new TextDecoder('latin1').decode(b)
  }
}

function utf16(b: Uint8Array, littleEndian: boolean): string {
  const even = b.length - (b.length % 2)
  let out = ''
  const view = new DataView(b.buffer, b.byteOffset, even)
  for (let i = 0; i < even; i += 2) out += String.fromCharCode(view.getUint16(i, littleEndian))
  return out
}

// ASCII text stored as UTF-16 has a NUL in every other byte; real UTF-8 text has none.
function guessUtf16(b: Uint8Array): 'le' | 'be' | undefined {
  if (b.length < 4 || b.length % 2) return undefined
  const n = Math.min(b.length, 512)
  let oddNul = 0, evenNul = 0
  for (let i = 0; i < n; i++) if (b[i] === 0) { if (i % 2) oddNul++; else evenNul++ }
  const pairs = n / 2
  if (oddNul >= pairs * 0.9 && evenNul === 0) return 'le'
  if (evenNul >= pairs * 0.9 && oddNul === 0) return 'be'
  return undefined
}
