/**
 * Download throughput: our `download` (sha256 while writing, fsync before returning) against `curl -s -o` of the
 * same 200 MB file from a local node:http server, alternating, two untimed rounds and then nine timed runs each,
 * median. The goal is throughput at least 0.9 of curl's, i.e. a time ratio of at most 1.11.
 *
 * The notes measure, in the same run: curl followed by sha256sum (a verified download by hand); the two things
 * our download does one after the other on its JavaScript thread (receiving through undici; sha256 over 200 MB);
 * and what flushing curl's file to disk would add to curl.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { request } from 'undici'
import { closeSharedAgent, sharedAgent } from '../lib/fetch/agent.ts'
import { download } from '../lib/fetch/download.ts'
import { releaseRead } from '../lib/fetch/read-arena.ts'
import { exec, succeeded } from '../lib/util/exec.ts'
import { median, type BenchResult } from './measure.ts'

const SIZE = 200 * 1024 * 1024
const RUNS = 9
const NOTE_RUNS = 3
const WARMUP = 2
const CHUNK = 64 * 1024

/** The server runs in its own process, so neither side of the comparison shares a CPU thread with it. */
const SERVER = `
const { createServer } = require('node:http'); const { createHash, randomBytes } = require('node:crypto')
const block = randomBytes(1024 * 1024)
const body = Buffer.concat(Array.from({ length: ${SIZE} / block.length }, () => block))
const sha = createHash('sha256').update(body).digest('hex')
const server = createServer((_req, res) => { res.writeHead(200, { 'content-length': String(body.length), etag: '"bench"' }); res.end(body) })
server.listen(0, '127.0.0.1', () => console.log(server.address().port + ' ' + sha))
`

export async function benchDownload(): Promise<BenchResult> {
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [port, expected] = await new Promise<string[]>((resolve, reject) => {
    server.once('error', reject)
    server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim().split(' ')))
  })
  const url = `http://127.0.0.1:${port}/model.bin`
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-'))
  // The agent downloads use when given none: its sockets read into reused memory (lib/fetch/read-arena.ts).
  const dispatcher = await sharedAgent()
  try {
    const ours: number[] = []
    const curl: number[] = []
    const receive: number[] = []
    const curlFlush: number[] = []
    const curlThenSum: number[] = []
    // Two untimed rounds first: the first download in a process also pays for JIT warm-up and the connection,
    // and the disk may still be busy with what the benchmark before this one deleted.
    for (let i = -WARMUP; i < RUNS; i++) {
      const partialPath = join(dir, `ours-${i}`)
      await exec('sync', [], { env: process.env }) // each run starts with no dirty pages left by the previous one
      const t0 = performance.now()
      const r = await download({ url, partialPath, rules: [], env: {}, headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000 })
      if (i >= 0) ours.push(performance.now() - t0)
      if (!r.ok || r.value.sha256 !== expected) throw new Error(`benchmark download failed: ${r.ok ? 'wrong hash' : r.error.message}`)
      await rm(partialPath, { force: true })
      await rm(`${partialPath}.json`, { force: true })

      const out = join(dir, `curl-${i}`)
      await exec('sync', [], { env: process.env })
      const t1 = performance.now()
      const c = await exec('curl', ['-s', '-o', out, url], { env: process.env })
      if (i >= 0) curl.push(performance.now() - t1)
      if (!succeeded(c)) throw new Error(`curl failed: ${c.stderr || c.spawnError}`)
      await rm(out, { force: true })
    }

    // The notes, after the timed runs: flushing curl's file and deleting it sends the disk work (and, on a disk
    // mounted with `discard`, trims) that would otherwise land in the next timed run.
    for (let i = 0; i < NOTE_RUNS; i++) {
      const out = join(dir, `curl-note-${i}`)
      await exec('sync', [], { env: process.env })
      const t1 = performance.now()
      const c = await exec('curl', ['-s', '-o', out, url], { env: process.env })
      if (!succeeded(c)) throw new Error(`curl failed: ${c.stderr || c.spawnError}`)
      // A verified download by hand: curl and then sha256sum.
      const sum = await exec('sha256sum', [out], { env: process.env })
      if (succeeded(sum)) curlThenSum.push(performance.now() - t1)
      if (succeeded(sum) && !sum.stdout.startsWith(expected!)) throw new Error('curl fetched different bytes')
      // What flushing curl's file to disk would add, as our download does.
      const t3 = performance.now()
      if (succeeded(await exec('sync', ['-d', out], { env: process.env }))) curlFlush.push(performance.now() - t3)
      await rm(out, { force: true })

      const t2 = performance.now()
      const res = await request(url, { dispatcher })
      // Into a sink that drops the bytes (handing back the socket memory, as our download's sink does).
      await pipeline(res.body, new Writable({
        highWaterMark: 8 << 20,
        writev(chunks, cb) { for (const c of chunks) releaseRead(c.chunk as Buffer); cb() },
        write(chunk: Buffer, _enc, cb) { releaseRead(chunk); cb() },
      }))
      receive.push(performance.now() - t2)
    }
    const data = randomBytes(SIZE)
    const hashing = Array.from({ length: RUNS }, () => {
      const t = performance.now()
      const h = createHash('sha256')
      for (let o = 0; o < SIZE; o += CHUNK) h.update(data.subarray(o, o + CHUNK))
      h.digest()
      return performance.now() - t
    })
    const oursMs = Math.round(median(ours))
    const baselineMs = Math.round(median(curl))
    return {
      name: 'download 200 MB over loopback (sha256 + fsync included) vs curl -s -o',
      ours_ms: oursMs,
      baseline_ms: baselineMs,
      ratio: Number((oursMs / baselineMs).toFixed(2)),
      goal: '≤ 1.11 (throughput at least 0.9 of curl\'s)',
      notes: [
        `runs: ours ${ours.map(Math.round).join(' ')}; curl ${curl.map(Math.round).join(' ')}`,
        ...(curlThenSum.length ? [`curl and then sha256sum, a verified download by hand (not the baseline): ${Math.round(median(curlThenSum))} ms, ours/that ${(oursMs / median(curlThenSum)).toFixed(2)}`] : []),
        ...(curlFlush.length ? [`flushing curl's file to disk afterwards (sync -d, not in the baseline): ${Math.round(median(curlFlush))} ms; ours against curl with that flush, the durability our download includes: ${(oursMs / (baselineMs + median(curlFlush))).toFixed(2)}`] : []),
        `receiving alone through undici (bytes discarded): ${Math.round(median(receive))} ms`,
        `sha256 of 200 MB in memory, 64 KiB at a time: ${Math.round(median(hashing))} ms`,
      ],
    }
  } finally {
    await closeSharedAgent()
    server.kill()
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchDownload(), null, 2))
}
