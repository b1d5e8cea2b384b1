import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { createServer as createHttpsServer } from 'node:https'
import { fileURLToPath } from 'node:url'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Agent, buildConnector, request } from 'undici'
import { arenaOnread, releaseRead } from '../lib/fetch/read-arena.ts'

const tls = fileURLToPath(new URL('./fixtures/tls/', import.meta.url))
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const A = suite('read-arena')

/** A TCP server that sends `body` in pieces with pauses, so the client sees many reads of varying sizes. */
async function sender(body: Buffer): Promise<{ port: number; server: Server }> {
  const server = createServer(async socket => {
    socket.on('error', () => {}) // a failed test closes its end early
    for (let at = 0; at < body.length;) {
      const n = Math.min(body.length - at, 64 * 1024 + (at % 7) * 100_003)
      if (!socket.write(body.subarray(at, at + n))) await new Promise(r => socket.once('drain', r))
      at += n
      if (at % 3 === 0) await nextTurn()
    }
    socket.end()
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as AddressInfo).port, server }
}

/** Reads a whole connection through an arena socket, calling `onChunk` for each chunk in order. */
async function receive(port: number, onChunk: (chunk: Buffer, offset: number) => void | Promise<void>): Promise<void> {
  const socket: Socket = connect({ host: '127.0.0.1', port, onread: arenaOnread() })
  let offset = 0
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    await onChunk(chunk, offset)
    offset += chunk.length
  }
}

A('a consumer that never hands memory back gets every byte intact', async () => {
  const body = randomBytes(24 << 20)
  const { port, server } = await sender(body)
  const kept: Buffer[] = []
  await receive(port, chunk => { kept.push(chunk) })
  server.close()
  const got = Buffer.concat(kept)
  assert.is(got.length, body.length)
  assert.ok(got.equals(body), 'the bytes of an earlier read were overwritten')
})

A('memory handed back is read into again, and never before', async () => {
  const body = randomBytes(24 << 20)
  const { port, server } = await sender(body)
  const slabs = new Set<ArrayBufferLike>()
  let chunks = 0
  const held: { chunk: Buffer; offset: number }[] = []
  await receive(port, async (chunk, offset) => {
    chunks++
    slabs.add(chunk.buffer)
    held.push({ chunk, offset })
    // Hand chunks back a few reads late, checking at that moment that nothing was read over them.
    if (held.length > 3) {
      const { chunk: old, offset: at } = held.shift()!
      assert.ok(old.equals(body.subarray(at, at + old.length)), `bytes at ${at} changed before they were handed back`)
      releaseRead(old)
    }
    await nextTurn()
  })
  server.close()
  for (const { chunk, offset } of held) assert.ok(chunk.equals(body.subarray(offset, offset + chunk.length)))
  assert.ok(chunks > 12, `only ${chunks} reads`)
  // 24 MiB would take 12 slabs of 2 MiB without reuse.
  assert.ok(slabs.size <= 6, `${slabs.size} slabs for 24 MiB`)
})

A('TLS sockets read into the arena too (an https download through undici)', async () => {
  const body = randomBytes(6 << 20)
  const server = createHttpsServer({ key: readFileSync(`${tls}key.pem`), cert: readFileSync(`${tls}cert.pem`) }, (_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length) })
    res.end(body)
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const ca = readFileSync(`${tls}cert.pem`)
  const agent = new Agent({
    connect: (opts, cb) => buildConnector({ ca, onread: arenaOnread() })(opts, cb),
  })
  try {
    const slabs = new Set<ArrayBufferLike>()
    for (let round = 0; round < 2; round++) {
      const res = await request(`https://127.0.0.1:${(server.address() as AddressInfo).port}/`, { dispatcher: agent })
      const hash = createHash('sha256')
      let n = 0
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        hash.update(chunk)
        n += chunk.length
        slabs.add(chunk.buffer)
        releaseRead(chunk)
      }
      assert.is(res.statusCode, 200)
      assert.is(n, body.length)
      assert.is(hash.digest('hex'), sha(body))
    }
    // Two 6 MiB bodies in 2 MiB slabs: without reuse that is at least 6.
    assert.ok(slabs.size < 6, `${slabs.size} slabs for 12 MiB`)
  } finally {
    await agent.close()
    server.close()
  }
})

A.run()
