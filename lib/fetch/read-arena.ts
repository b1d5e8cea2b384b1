import type { Socket } from 'node:net'

/**
 * Socket reads into reused memory. By default Node allocates a fresh 64 KiB buffer for every socket read; at
 * hundreds of MB/s that fresh memory (page faults, garbage collection) costs more CPU than receiving itself, and
 * the bytes are cold when they are hashed. Sockets created with `arenaOnread` read instead into the free tail of
 * a 2 MiB slab, up to all of it at once, and push a view of what was read, so consumers see ordinary Buffers.
 *
 * A slab is reused only once every byte read into it has been handed back with `releaseRead` (the download sink
 * does this after a chunk is hashed and written). Bytes nobody hands back (headers, a small JSON body, chunks a
 * stream concatenated into a new buffer) keep their slab out of reuse: it is left to the garbage collector like
 * any other buffer. So a consumer that does not know about the arena is always safe, merely not faster.
 * Leave the socket's highWaterMark small (undici's 64 KiB): each read is then taken on its own, whereas with a
 * large one the stream joins several reads into fresh memory (measured: 295 against 253 ms per 200 MB).
 */

const SLAB = 2 << 20
/** A tail smaller than this is not worth a read: the socket moves to a new slab. */
const MIN_READ = 256 << 10
/** Slabs kept for reuse (per process). */
const KEEP = 16

interface Slab { buf: Buffer; reserved: number; released: number; inUse: boolean }

const slabOf = new WeakMap<ArrayBufferLike, Slab>()
const spare: Slab[] = []

function takeSlab(): Slab {
  const slab = spare.pop() ?? newSlab()
  slab.inUse = true
  return slab
}

function newSlab(): Slab {
  const slab: Slab = { buf: Buffer.allocUnsafeSlow(SLAB), reserved: 0, released: 0, inUse: true }
  slabOf.set(slab.buf.buffer, slab)
  return slab
}

/** A slab no socket reads into any more; reused when all its bytes are back. */
function retire(slab: Slab): void {
  slab.inUse = false
  recycleIfFree(slab)
}

function recycleIfFree(slab: Slab): void {
  if (slab.inUse || slab.released !== slab.reserved || spare.length >= KEEP) return
  slab.reserved = 0
  slab.released = 0
  spare.push(slab)
}

/** Node's `onread` socket option (net and tls), one per socket: reads land in arena memory, pushed as views. */
export function arenaOnread(): { buffer: () => Uint8Array; callback: (this: Socket, n: number, buf: Uint8Array) => boolean } {
  let slab = takeSlab()
  let pos = 0
  let watched = false
  return {
    // Called once when the socket is set up and then after each read: where the next read goes.
    buffer() {
      if (slab.buf.length - pos < MIN_READ) {
        retire(slab)
        slab = takeSlab()
        pos = 0
      }
      return slab.buf.subarray(pos)
    },
    callback(n, buf) {
      if (!watched) {
        watched = true
        this.once('close', () => retire(slab))
      }
      slab.reserved += n
      pos += n
      return this.push(Buffer.from(buf.buffer, buf.byteOffset, n))
    },
  }
}

/** Hands back bytes read through `arenaOnread` once nothing refers to them any more; other buffers are ignored. */
export function releaseRead(chunk: Uint8Array): void {
  const slab = slabOf.get(chunk.buffer)
  if (!slab) return
  slab.released += chunk.length
  if (slab.released > slab.reserved) {
    // More handed back than was read: a consumer released something twice. Never reuse this slab.
    slab.inUse = true
    return
  }
  recycleIfFree(slab)
}
