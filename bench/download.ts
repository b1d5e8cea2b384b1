/**
 * Download throughput: our `download` (sha256 while writing, fsync before returning) against `curl -s -o` of the
 * same ~200 MB file from a local node:http server. Three runs each, median.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import { download } from '../lib/fetch/download.ts'
import { exec, succeeded } from '../lib/util/exec.ts'

export interface BenchResult { name: string; ours_ms: number; baseline_ms: number; ratio: number; goal: string }

const SIZE = 200 * 1024 * 1024
const RUNS = 3

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

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
  const dispatcher = new Agent({ connections: 4 })
  try {
    const ours: number[] = []
    const curl: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const partialPath = join(dir, `ours-${i}`)
      await exec('sync', []) // each run starts with no dirty pages left by the previous one
      const t0 = performance.now()
      const r = await download({ url, partialPath, rules: [], env: {}, headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000, dispatcher })
      ours.push(performance.now() - t0)
      if (!r.ok || r.value.sha256 !== expected) throw new Error(`benchmark download failed: ${r.ok ? 'wrong hash' : r.error.message}`)
      await rm(partialPath, { force: true })
      await rm(`${partialPath}.json`, { force: true })

      const out = join(dir, `curl-${i}`)
      await exec('sync', [])
      const t1 = performance.now()
      const c = await exec('curl', ['-s', '-o', out, url])
      curl.push(performance.now() - t1)
      if (!succeeded(c)) throw new Error(`curl failed: ${c.stderr || c.spawnError}`)
      await rm(out, { force: true })
    }
    const oursMs = Math.round(median(ours))
    const baselineMs = Math.round(median(curl))
    return {
      name: 'download 200 MB over loopback (sha256 + fsync included) vs curl -s -o',
      ours_ms: oursMs,
      baseline_ms: baselineMs,
      ratio: Number((oursMs / baselineMs).toFixed(2)),
      goal: 'ratio <= 2 (hashing while writing and an fsync cost at most as much as the transfer itself)',
    }
  } finally {
    await dispatcher.close()
    server.kill()
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchDownload(), null, 2))
}
