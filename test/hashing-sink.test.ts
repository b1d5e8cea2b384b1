import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HashingFileSink, openForSink, type HashState } from '../lib/fetch/hashing-sink.ts'

const H = suite('hashing sink')
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The real file handle, except that a write at `failAt` fails as a full disk would. */
function failingAt(fh: FileHandle, failAt: () => number | undefined): FileHandle {
  return new Proxy(fh, {
    get(target, key) {
      if (key === 'writev') {
        return (buffers: Buffer[], position: number) => position === failAt()
          ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }))
          : target.writev(buffers, position)
      }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

const write = (sink: HashingFileSink, chunk: Buffer) =>
  new Promise<void>((resolve, reject) => sink.write(chunk, e => e ? reject(e) : resolve()))

H('a batch whose first piece fails while its later pieces are written is cut from the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-sink-'))
  const path = join(dir, 'model.incomplete')
  const fh = await openForSink(path, 0)
  try {
    const first = randomBytes(300_000)
    // Three write pieces: the first fails, the two after it reach the disk, past a hole.
    const second = randomBytes(3 * 512 * 1024)
    let failAt: number | undefined
    const state: HashState = { hash: createHash('sha256'), bytes: 0 }
    const sink = new HashingFileSink(failingAt(fh, () => failAt), state, () => {})
    sink.on('error', () => {}) // the failed write's callback reports it

    await write(sink, first)
    assert.is(state.bytes, first.length)
    assert.is(state.hash.copy().digest('hex'), sha(first))

    failAt = first.length
    const failed = await write(sink, second).then(() => undefined, (e: NodeJS.ErrnoException) => e)
    assert.is(failed?.code, 'ENOSPC')
    // The hash covered bytes that are not on disk: the state says the file must be hashed again.
    assert.is(state.bytes, -1)
    const left = await readFile(path)
    assert.is(left.length, first.length, 'the failed batch\'s later pieces were left after a hole')
    assert.ok(left.equals(first))
  } finally {
    await fh.close()
    await rm(dir, { recursive: true, force: true })
  }
})

H.run()
