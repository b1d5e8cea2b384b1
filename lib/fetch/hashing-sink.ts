import { Writable } from 'node:stream'
import type { FileHandle } from 'node:fs/promises'
import type { Hash } from 'node:crypto'
import { releaseRead } from './read-arena.ts'

/**
 * The running hash of exactly the bytes in a file, kept across the attempts of one download.
 * `bytes` is -1 after a failed write: the file's content is then unknown and must be hashed again from disk.
 */
export interface HashState {
  hash: Hash
  bytes: number
}

/**
 * Appends to an open file and hashes the same chunks while the write is in flight (the write runs on libuv's
 * thread pool, the hash on this thread), so hashing costs no second pass and little extra time. Chunks that
 * arrive during a write are batched into the next writev. `state` describes exactly the bytes on disk after each
 * successful write, so after a dropped connection the next attempt continues without reading the file again.
 * The file is flushed to disk every 8 MiB in the background and once more at the end (the caller then renames
 * it into place, so a blob in the store survives a power cut).
 */
export class HashingFileSink extends Writable {
  /** Bytes written since the last flush was started, and the flush in flight. */
  private unflushed = 0
  private flushing: Promise<void> | undefined

  constructor(private readonly fh: FileHandle, private readonly state: HashState, private readonly onBytes: (n: number) => void) {
    super({ highWaterMark: 8 << 20 })
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => cb(), cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.writeAll(chunks.map(c => c.chunk)).then(() => cb(), cb)
  }

  override _final(cb: (e?: Error | null) => void): void {
    Promise.resolve(this.flushing).then(() => this.fh.datasync()).then(() => cb(), cb)
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    const total = buffers.reduce((n, b) => n + b.length, 0)
    const writing = this.fh.writev(buffers)
    for (const b of buffers) this.state.hash.update(b)
    try {
      let written = (await writing).bytesWritten
      while (written < total) written += (await this.fh.writev(rest(buffers, written))).bytesWritten
    } catch (e) {
      this.state.bytes = -1
      throw e
    }
    // Hashed and on disk: socket memory these chunks were read into may be read into again.
    for (const b of buffers) releaseRead(b)
    this.state.bytes += total
    this.onBytes(total)
    // Flushing as we go keeps the final fsync short: the disk writes while the network delivers.
    this.unflushed += total
    if (this.unflushed >= FLUSH_EVERY && !this.flushing) {
      this.unflushed = 0
      this.flushing = this.fh.datasync().catch(() => {}).finally(() => { this.flushing = undefined })
    }
  }
}

// Small, so that little is left to flush once the last byte arrives; one flush at a time, so a slow disk
// gets fewer, larger ones.
const FLUSH_EVERY = 8 << 20

/** The buffers after the first `skip` bytes (to finish a short write). */
function rest(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = []
  for (const b of buffers) {
    if (skip >= b.length) { skip -= b.length; continue }
    out.push(skip > 0 ? b.subarray(skip) : b)
    skip = 0
  }
  return out
}
