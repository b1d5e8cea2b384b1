import { Writable } from 'node:stream'
import { open, type FileHandle } from 'node:fs/promises'
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
 * Opens a partial for a sink that continues it after its first `bytes` (0: a new, empty file). Never in append
 * mode: the sink writes at explicit positions, which O_APPEND would ignore on Linux.
 */
export const openForSink = (path: string, bytes: number): Promise<FileHandle> => open(path, bytes === 0 ? 'w' : 'r+')

/**
 * Writes chunks at the end of a file opened with `openForSink` (`state.bytes` is where that is) and hashes them
 * while the writes are in flight (they run on libuv's thread pool, the hash on this thread), so hashing costs no
 * second pass and little extra time. Chunks that arrive during a batch's writes form the next batch. `state`
 * describes exactly the bytes on disk after each successful batch, so after a dropped connection the next attempt
 * continues without reading the file again. The file is flushed to disk every 8 MiB in the background and once
 * more at the end (the caller then renames it into place, so a blob in the store survives a power cut).
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
    const start = this.state.bytes
    // All pieces at once, each at its own position: the thread pool writes them back to back, without waiting
    // for this thread (busy hashing) between two of them.
    const pieces: Promise<void>[] = []
    for (let at = 0; at < total; at += WRITE_MAX) pieces.push(this.writePiece(slice(buffers, at, WRITE_MAX), start + at))
    for (const b of buffers) this.state.hash.update(b)
    const failed = (await Promise.allSettled(pieces)).find(r => r.status === 'rejected')
    if (failed) {
      // The hash now covers bytes that are not all on disk: drop this batch from the file, and the next
      // attempt hashes what is left from disk.
      this.state.bytes = -1
      await this.fh.truncate(start).catch(() => {})
      throw failed.reason
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

  private async writePiece(buffers: Buffer[], at: number): Promise<void> {
    const length = buffers.reduce((n, b) => n + b.length, 0)
    for (let done = 0; done < length;) {
      const { bytesWritten } = await this.fh.writev(done ? slice(buffers, done, length) : buffers, at + done)
      if (bytesWritten === 0) throw Object.assign(new Error(`no bytes written at offset ${at + done}`), { code: 'EIO', syscall: 'write' })
      done += bytesWritten
    }
  }
}

// Small, so that little is left to flush once the last byte arrives; one flush at a time, so a slow disk
// gets fewer, larger ones.
const FLUSH_EVERY = 8 << 20
// One write call takes at most this much: the kernel backs a larger write with larger page-cache folios, and
// 2 MiB ones were now and then 5 times slower to get (on a VM whose free memory goes back to the host).
const WRITE_MAX = 512 << 10

/** At most `max` bytes of the buffers, starting `skip` bytes in. */
function slice(buffers: Buffer[], skip: number, max: number): Buffer[] {
  const out: Buffer[] = []
  for (const b of buffers) {
    if (max <= 0) break
    if (skip >= b.length) { skip -= b.length; continue }
    const part = b.subarray(skip, skip + max)
    out.push(part)
    max -= part.length
    skip = 0
  }
  return out
}
