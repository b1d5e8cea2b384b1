import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ServerResponse } from 'node:http'
import type { AuthRule } from '../lib/fetch/auth-rule.ts'
import { credentialFor } from '../lib/fetch/auth.ts'
import { download, type DownloadOptions } from '../lib/fetch/download.ts'
import { headMetadata } from '../lib/fetch/head.ts'
import { createProgressMeter, formatProgress, type Progress } from '../lib/fetch/progress.ts'
import { urlKey } from '../lib/fetch/url-key.ts'
import { Limit } from '../lib/util/limit.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { pollUntil } from './helpers/poll-until.ts'
import { within } from './helpers/within.ts'
import { guarded } from './helpers/hooks.ts'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const TOKEN = 'tok_SECRET_abcdef123456'
const rule = (over: Partial<AuthRule> = {}): AuthRule => ({ host: '127.0.0.1', subdomains: false, env: 'TEST_TOKEN', header: 'authorization', ...over })

interface Ctx { dir: string; servers: TestServer[] }
const F = suite<Ctx>('fetch', { dir: '', servers: [] })

F.before.each(guarded(async ctx => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'comfy-vc-fetch-'))
  ctx.servers = []
}))
F.after.each(guarded(async ctx => {
  for (const s of ctx.servers) await s.close()
  await rm(ctx.dir, { recursive: true, force: true })
}))

async function serve(ctx: Ctx, routes: Parameters<typeof startServer>[0]) {
  const s = await startServer(routes)
  ctx.servers.push(s)
  return s
}

/** The size of a file, 0 while it does not exist. */
const sizeOf = async (path: string) => (await stat(path).catch(() => undefined))?.size ?? 0

/** For a route's `dropWhen`: the default partial holds `n` bytes, so dropping the connection now loses none. */
const stored = (ctx: Ctx, n: number) => async () => await sizeOf(join(ctx.dir, 'part', 'model.incomplete')) === n

const opts = (ctx: Ctx, url: string, over: Partial<DownloadOptions> = {}): DownloadOptions => ({
  url, partialPath: join(ctx.dir, 'part', 'model.incomplete'), rules: [], env: {},
  headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000, retryDelayMs: 10, ...over,
})

F('downloads, hashes while writing and reports throttled progress', within(async ctx => {
  const body = randomBytes(3 * 1024 * 1024 + 17)
  const HELD = 1024 * 1024
  let sendRest!: () => void
  const s = await serve(ctx, { '/m.bin': { body, etag: '"v1"', holdAfter: HELD, holdUntil: new Promise<void>(r => { sendRest = r }) } })
  const seen: Progress[] = []
  const started = performance.now()
  const o = opts(ctx, `${s.url}/m.bin`, { expectedSha256: sha(body), expectedSize: body.length, onProgress: p => seen.push(p) })
  const downloading = download(o)
  // A report in the middle needs bytes that arrive a throttle interval (250 ms) after the transfer began: once the
  // first part is on disk, that much time passes before the rest is sent. (A floor, which load only lengthens.)
  await pollUntil('the first part on disk', async () => await sizeOf(o.partialPath) === HELD)
  await sleep(300)
  sendRest()
  const r = await downloading
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  if (!r.ok) return
  assert.is(r.value.sha256, sha(body))
  assert.is(r.value.size, body.length)
  assert.equal(await readFile(r.value.partialPath), body)
  assert.is(r.value.bytesFetched, body.length)
  assert.is(s.requests[0]!.headers.range, undefined)
  const last = seen.at(-1)!
  assert.is(last.bytes, body.length)
  assert.is(last.total, body.length)
  assert.ok(seen.every((p, i) => i === 0 || p.bytes >= seen[i - 1]!.bytes), 'the byte count never goes back')
  assert.ok(seen.some(p => p.bytes >= HELD && p.bytes < body.length), `no report in the middle: ${seen.map(p => p.bytes)}`)
  // At most one update per 250 ms plus the final one, however many chunks arrived. The bound grows with the time
  // the download took, so a slow machine cannot break it (the exact rule is tested on a fake clock below).
  const allowed = Math.floor((performance.now() - started) / 250) + 1
  assert.ok(seen.length <= allowed, `progress calls: ${seen.length}, allowed ${allowed}`)
  assert.ok(last.rate > 0)
}))

F('the progress meter reports at most once per interval, and always at the end', () => {
  let now = 0
  const seen: Progress[] = []
  const meter = createProgressMeter(p => seen.push(p), 250, () => now)
  // A resume: 1000 bytes were on disk; ten chunks of 1000 bytes, 100 ms apart.
  meter.reset(1000, 11_000)
  for (let i = 0; i < 10; i++) { now += 100; meter.add(1000) }
  meter.flush()
  assert.equal(seen.map(p => p.bytes), [4000, 7000, 10_000, 11_000], 'at 300, 600 and 900 ms, and the flush at 1 s')
  assert.equal(seen.map(p => p.rate), [10_000, 10_000, 10_000, 10_000])
  assert.equal(seen.map(p => p.etaS), [0.7, 0.4, 0.1, 0])
  assert.ok(seen.every(p => p.total === 11_000))
})

F('a dropped connection is resumed with Range and If-Range, and the hash is right', async ctx => {
  const body = randomBytes(2 * 1024 * 1024)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"abc"', dropAfter: 700_000, dropWhen: stored(ctx, 700_000) } })
  const r = await download(opts(ctx, `${s.url}/m.bin`))
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  if (!r.ok) return
  assert.is(r.value.sha256, sha(body))
  assert.is(s.requests.length, 2)
  const second = s.requests[1]!.headers
  assert.is(second.range, 'bytes=700000-')
  assert.is(second['if-range'], '"abc"')
  assert.is(r.value.bytesFetched, body.length, 'nothing was fetched twice')
})

F('a download killed with SIGKILL is resumed by the next process from its partial', within(async ctx => {
  const body = randomBytes(1024 * 1024)
  // The first GET stops after HELD bytes and stays open: the child is killed with exactly that much on disk.
  const HELD = 300_000
  const s = await serve(ctx, { '/m.bin': { body, lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT', holdAfter: HELD } })
  const script = join(ctx.dir, 'child.mts')
  await writeFile(script, [
    `import { download } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'lib/fetch/download.ts')).href)}`,
    'const [url, partialPath] = process.argv.slice(2)',
    // A body timeout far beyond the test's wait: the held connection must not turn into a retry on a slow machine.
    'await download({ url, partialPath, rules: [], env: {}, headersTimeoutMs: 600000, bodyTimeoutMs: 600000 })',
  ].join('\n'))
  const partial = join(ctx.dir, 'part', 'model.incomplete')
  const child = spawn(process.execPath, ['--import', 'tsx', script, `${s.url}/m.bin`, partial], { cwd: repoRoot, stdio: 'ignore' })
  const exited = new Promise(resolve => child.on('exit', resolve))
  await pollUntil(`the child to write ${HELD} bytes`, async () => {
    assert.is(child.exitCode, null, 'the child ended before it was killed')
    return await sizeOf(partial) === HELD
  })
  child.kill('SIGKILL')
  await exited
  const left = (await stat(partial)).size
  assert.is(left, HELD)
  assert.is(s.requests.length, 1)
  const before = s.requests.length
  const r = await download(opts(ctx, `${s.url}/m.bin`, { expectedSha256: sha(body) }))
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  if (!r.ok) return
  assert.is(r.value.sha256, sha(body))
  assert.is(r.value.resumedFrom, left)
  const resumed = s.requests[before]!.headers
  assert.is(resumed.range, `bytes=${left}-`)
  assert.is(resumed['if-range'], 'Wed, 21 Oct 2015 07:28:00 GMT')
  assert.is(r.value.bytesFetched, body.length - left)
}))

F('a disk that fills up midway gives an error naming the file, and the next run resumes from what was written', async ctx => {
  const body = randomBytes(3 * 1024 * 1024)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"v1"', bytesPerSecond: 8 * 1024 * 1024 } })
  const script = join(ctx.dir, 'child.mts')
  await writeFile(script, [
    `import { download } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'lib/fetch/download.ts')).href)}`,
    'const [url, partialPath] = process.argv.slice(2)',
    'const r = await download({ url, partialPath, rules: [], env: {}, headersTimeoutMs: 5000, bodyTimeoutMs: 5000, retryDelayMs: 10 })',
    'console.log(JSON.stringify(r))',
  ].join('\n'))
  const partial = join(ctx.dir, 'part', 'model.incomplete')
  // A 1 MiB file size limit stands in for a full disk: writes past it fail (EFBIG) as they would with ENOSPC.
  const child = spawn('bash', ['-c', 'trap "" XFSZ; ulimit -f 1024; exec "$0" --import tsx "$@"', process.execPath, script, `${s.url}/m.bin`, partial],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  await new Promise(resolve => child.on('exit', resolve))
  const r1 = JSON.parse(out) as Awaited<ReturnType<typeof download>>
  assert.ok(!r1.ok)
  if (r1.ok) return
  assert.is(r1.error.reason, 'io')
  assert.match(r1.error.message, `writing ${partial}`)
  assert.match(r1.error.message, /EFBIG/)
  const left = await readFile(partial)
  assert.ok(left.length > 0 && left.length <= 1024 * 1024, `${left.length} bytes left`)
  assert.ok(left.equals(body.subarray(0, left.length)), 'the partial holds bytes that are not the file\'s')

  s.routes['/m.bin']!.bytesPerSecond = undefined
  const before = s.requests.length
  const r = await download(opts(ctx, `${s.url}/m.bin`, { expectedSha256: sha(body) }))
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  if (!r.ok) return
  assert.is(r.value.resumedFrom, left.length)
  assert.is(s.requests[before]!.headers.range, `bytes=${left.length}-`)
  assert.is(r.value.sha256, sha(body))
})

F('cancelling keeps the partial, and the next call resumes it', async ctx => {
  // Large enough that the resumed part arrives in batches of many pieces written side by side.
  const body = randomBytes(24 * 1024 * 1024)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"e1"', bytesPerSecond: 512 * 1024 } })
  const ac = new AbortController()
  const first = download(opts(ctx, `${s.url}/m.bin`, { signal: ac.signal, onProgress: p => { if (p.bytes > 100_000) ac.abort() } }))
  const r1 = await first
  assert.is(!r1.ok && r1.error.reason, 'cancelled')
  const kept = (await stat(join(ctx.dir, 'part', 'model.incomplete'))).size
  assert.ok(kept > 0)
  s.routes['/m.bin']!.bytesPerSecond = undefined
  const r2 = await download(opts(ctx, `${s.url}/m.bin`))
  assert.ok(r2.ok, JSON.stringify(!r2.ok && r2.error))
  if (!r2.ok) return
  assert.is(r2.value.sha256, sha(body))
  assert.is(s.requests.at(-1)!.headers.range, `bytes=${kept}-`)
  // Right the first time: not fetched again from scratch after a hash mismatch.
  assert.is(r2.value.bytesFetched, body.length - kept)
})

F('a 200 answer to a range request starts over cleanly', async ctx => {
  const body = randomBytes(1024 * 1024)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"e1"', dropAfter: 300_000, dropWhen: stored(ctx, 300_000) } })
  const r1 = await download(opts(ctx, `${s.url}/m.bin`, { retries: 0 }))
  assert.is(!r1.ok && r1.error.reason, 'network')
  assert.match(!r1.ok ? r1.error.message : '', /the next run resumes/)
  s.routes['/m.bin']!.ignoreRange = true
  const r2 = await download(opts(ctx, `${s.url}/m.bin`))
  assert.ok(r2.ok, JSON.stringify(!r2.ok && r2.error))
  if (!r2.ok) return
  assert.ok(s.requests.at(-1)!.headers.range, 'the second request asked for a range')
  assert.is(r2.value.sha256, sha(body))
  assert.is((await stat(r2.value.partialPath)).size, body.length)
})

F('a changed file (If-Range no longer matches) is downloaded afresh', async ctx => {
  const old = randomBytes(600_000)
  const s = await serve(ctx, { '/m.bin': { body: old, etag: '"old"', dropAfter: 200_000, dropWhen: stored(ctx, 200_000) } })
  const r1 = await download(opts(ctx, `${s.url}/m.bin`, { retries: 0 }))
  assert.not.ok(r1.ok)
  const fresh = randomBytes(650_000)
  s.routes['/m.bin'] = { body: fresh, etag: '"new"' }
  const r2 = await download(opts(ctx, `${s.url}/m.bin`))
  assert.ok(r2.ok && r2.value.sha256 === sha(fresh))
  assert.is(s.requests.at(-1)!.headers['if-range'], '"old"')
})

F('a 206 for another version of the file (a server that ignores If-Range) starts over instead of splicing', async ctx => {
  const old = randomBytes(600_000)
  const s = await serve(ctx, { '/m.bin': { body: old, etag: '"v1"', dropAfter: 200_000, dropWhen: stored(ctx, 200_000) } })
  assert.not.ok((await download(opts(ctx, `${s.url}/m.bin`, { retries: 0 }))).ok)
  const fresh = randomBytes(600_000)
  // Answers every range with the new file's bytes and its new ETag, whatever If-Range says.
  s.routes['/m.bin'] = {
    handler: (req, res) => {
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0)
      const headers = { etag: '"v2"', 'content-length': String(fresh.length - from) }
      if (from === 0) res.writeHead(200, headers).end(fresh)
      else res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${fresh.length - 1}/${fresh.length}` }).end(fresh.subarray(from))
    },
  }
  const before = s.requests.length
  const r = await download(opts(ctx, `${s.url}/m.bin`))
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  if (!r.ok) return
  assert.is(r.value.sha256, sha(fresh), 'the old part was kept under the new one')
  assert.equal(s.requests.slice(before).map(q => q.headers.range), ['bytes=200000-', undefined])
})

F('a resumed file that fails its hash is downloaded once more from scratch', async ctx => {
  const old = randomBytes(400_000)
  const s = await serve(ctx, { '/m.bin': { body: old, etag: '"same"', dropAfter: 150_000, dropWhen: stored(ctx, 150_000) } })
  assert.not.ok((await download(opts(ctx, `${s.url}/m.bin`, { retries: 0 }))).ok)
  // A server that changed the file but not its ETag: the resumed bytes mix two versions.
  const fresh = randomBytes(400_000)
  s.routes['/m.bin'] = { body: fresh, etag: '"same"' }
  const before = s.requests.length
  const r = await download(opts(ctx, `${s.url}/m.bin`, { expectedSha256: sha(fresh) }))
  assert.ok(r.ok && r.value.sha256 === sha(fresh), JSON.stringify(!r.ok && r.error))
  assert.equal(s.requests.slice(before).map(q => q.headers.range === undefined), [false, true])
})

F('a partial that is already complete is finished from a 416 without a body', async ctx => {
  const body = randomBytes(70_000)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"v"' } })
  const url = `${s.url}/m.bin`
  const o = opts(ctx, url)
  await mkdir(dirname(o.partialPath), { recursive: true })
  await writeFile(o.partialPath, body)
  await writeFile(`${o.partialPath}.json`, JSON.stringify({ url_key: urlKey(url), etag: '"v"', total: body.length }))
  const r = await download(o)
  assert.ok(r.ok && r.value.sha256 === sha(body) && r.value.bytesFetched === 0)
  assert.is(s.requests[0]!.headers.range, `bytes=${body.length}-`)
})

F('a partial left by another URL is discarded', async ctx => {
  const a = randomBytes(400_000)
  const b = randomBytes(500_000)
  const s = await serve(ctx, { '/a': { body: a, etag: '"a"', dropAfter: 100_000, dropWhen: stored(ctx, 100_000) }, '/b': { body: b, etag: '"a"' } })
  assert.not.ok((await download(opts(ctx, `${s.url}/a`, { retries: 0 }))).ok)
  const r = await download(opts(ctx, `${s.url}/b`))
  assert.ok(r.ok && r.value.sha256 === sha(b))
  assert.is(s.requests.at(-1)!.headers.range, undefined)
})

F('retries a 503 and succeeds; gives up with the status after the retries', async ctx => {
  const body = randomBytes(10_000)
  const s = await serve(ctx, { '/flaky': { body, failTimes: 2 }, '/down': { body, failTimes: 99 } })
  const r = await download(opts(ctx, `${s.url}/flaky`))
  assert.ok(r.ok && r.value.sha256 === sha(body))
  assert.is(s.hits('/flaky'), 3)
  const d = await download(opts(ctx, `${s.url}/down`, { retries: 2, partialPath: join(ctx.dir, 'down.part') }))
  assert.not.ok(d.ok)
  if (d.ok) return
  assert.is(d.error.reason, 'http-status')
  assert.match(d.error.message, /503 from 127\.0\.0\.1:\d+: server error/)
  assert.is(s.hits('/down'), 3)
})

F('attempts that start over and break at the same place again run out of retries', within(async ctx => {
  // Ignores ranges, sends the same first 1000 bytes and then drops the connection: no attempt gets further than the
  // first. Each attempt's bytes reach the disk before the drop (an attempt that lost them to the drop would count as
  // getting further next time): the server sends them only once the attempt has emptied the partial to start over,
  // and drops once they are written.
  const first = randomBytes(1000)
  const o = opts(ctx, '', { retries: 3, bodyTimeoutMs: 600_000 })
  const breakAtTheSamePlace = async (res: ServerResponse) => {
    res.writeHead(200, { etag: '"v"', 'content-length': '100000' }).flushHeaders()
    await pollUntil('the attempt to start over', async () => existsSync(o.partialPath) && await sizeOf(o.partialPath) === 0)
    res.write(first)
    await pollUntil('the first 1000 bytes on disk', async () => await sizeOf(o.partialPath) === first.length)
    res.socket?.destroy()
  }
  const s = await serve(ctx, { '/m.bin': { handler: (_req, res) => { breakAtTheSamePlace(res).catch(() => res.socket?.destroy()) } } })
  const r = await download({ ...o, url: `${s.url}/m.bin` })
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.is(r.error.reason, 'network', r.error.message)
  assert.match(r.error.message, /1\.0 kB kept; the next run resumes/)
  assert.is(s.hits('/m.bin'), 4, 'the first attempt and three retries')
}))

F('a body that stalls is a timeout, after the retries', async ctx => {
  const s = await serve(ctx, { '/m.bin': { handler: (_req, res) => { res.writeHead(200, { 'content-length': '1000' }).flushHeaders() } } })
  const r = await download(opts(ctx, `${s.url}/m.bin`, { bodyTimeoutMs: 150, retries: 1 }))
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.is(r.error.reason, 'timeout')
  assert.match(r.error.message, /the body stalled/)
  assert.is(s.hits('/m.bin'), 2)
})

F('no response headers within the timeout is a timeout, after the retries', async ctx => {
  const s = await serve(ctx, { '/stall': { stall: true } })
  const r = await download(opts(ctx, `${s.url}/stall`, { headersTimeoutMs: 150, retries: 1 }))
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.is(r.error.reason, 'timeout')
  assert.match(r.error.message, /no response headers in time/)
  assert.is(s.hits('/stall'), 2)
})

F('wrong bytes: a mismatch naming the model and both hashes, and nothing kept', async ctx => {
  const body = randomBytes(300_000)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"x"', wrongBytes: true } })
  const o = opts(ctx, `${s.url}/m.bin`, { expectedSha256: sha(body), name: 'checkpoints/m.safetensors' })
  const r = await download(o)
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.is(r.error.reason, 'hash-mismatch')
  const corrupted = Buffer.from(body)
  corrupted[corrupted.length >> 1] = (corrupted[corrupted.length >> 1]! + 1) & 0xff
  assert.ok(r.error.message.startsWith('checkpoints/m.safetensors: sha256 mismatch'))
  assert.ok(r.error.message.includes(sha(body)), 'names the expected hash')
  assert.ok(r.error.message.includes(sha(corrupted)), 'names the actual hash')
  assert.not.ok(existsSync(o.partialPath))
  assert.not.ok(existsSync(`${o.partialPath}.json`))
})

F('a size the server announces that differs from the pinned one fails before the body', async ctx => {
  const body = randomBytes(5000)
  const s = await serve(ctx, { '/m.bin': { body } })
  const r = await download(opts(ctx, `${s.url}/m.bin`, { expectedSize: 4000, name: 'loras/x.safetensors' }))
  assert.is(!r.ok && r.error.reason, 'size-mismatch')
  assert.match(!r.ok ? r.error.message : '', /loras\/x\.safetensors: size mismatch .*4000 bytes.*5000/)
})

F('401 and 403 name the variable that is missing or refused, never the token', async ctx => {
  const s = await serve(ctx, { '/gated': { body: randomBytes(100), token: TOKEN } })
  const missing = await download(opts(ctx, `${s.url}/gated`, { rules: [rule()], env: {} }))
  assert.not.ok(missing.ok)
  if (missing.ok) return
  assert.is(missing.error.reason, 'http-status')
  assert.match(missing.error.message, /^401 from 127\.0\.0\.1:\d+: TEST_TOKEN is not set; set it to a token that can read/)
  const wrong = await download(opts(ctx, `${s.url}/gated`, { rules: [rule()], env: { TEST_TOKEN: `${TOKEN}-wrong` } }))
  assert.not.ok(wrong.ok)
  if (wrong.ok) return
  assert.match(wrong.error.message, /403 from 127\.0\.0\.1:\d+: TEST_TOKEN was refused/)
  assert.not.ok(wrong.error.message.includes(TOKEN))
  const good = await download(opts(ctx, `${s.url}/gated`, { rules: [rule()], env: { TEST_TOKEN: TOKEN } }))
  assert.ok(good.ok)
  assert.is(s.requests.at(-1)!.headers.authorization, `Bearer ${TOKEN}`)
})

F('the token reaches its host and never a redirect target on another port or host', async ctx => {
  const body = randomBytes(50_000)
  const other = await serve(ctx, { '/file': { body } })
  const hub = await serve(ctx, {
    '/to-port': { redirect: `${other.url}/file?from=hub` },
    '/local': { body },
    '/same': { redirect: '/local' },
  })
  hub.routes['/to-host'] = { redirect: `http://localhost:${hub.port}/local` }
  const env = { TEST_TOKEN: TOKEN }
  for (const path of ['/to-port', '/to-host', '/same']) {
    const r = await download(opts(ctx, `${hub.url}${path}`, { rules: [rule()], env, partialPath: join(ctx.dir, `p${path}`) }))
    assert.ok(r.ok && r.value.sha256 === sha(body), path)
  }
  assert.is(hub.requests.length, 5)
  for (const req of hub.requests) {
    const viaLocalhost = req.headers.host === `localhost:${hub.port}`
    assert.is(req.headers.authorization, viaLocalhost ? undefined : `Bearer ${TOKEN}`, `${req.headers.host}${req.path}`)
  }
  assert.ok(hub.requests.some(r => r.headers.host === `localhost:${hub.port}`), 'the localhost hop happened')
  assert.is(other.requests.length, 1)
  for (const req of [...other.requests, ...hub.requests]) assert.not.ok(req.path.includes(TOKEN), 'no token in a query string')
  assert.is(other.requests[0]!.headers.authorization, undefined)
})

F('a custom auth header and a password in the URL do not follow a cross-origin redirect', async ctx => {
  const body = randomBytes(1000)
  const other = await serve(ctx, { '/file': { body } })
  const hub = await serve(ctx, { '/r': { redirect: `${other.url}/file` } })
  const r = await download(opts(ctx, `${hub.url}/r`, { rules: [rule({ header: 'x-api-key' })], env: { TEST_TOKEN: TOKEN } }))
  assert.ok(r.ok)
  assert.is(hub.requests[0]!.headers['x-api-key'], TOKEN)
  assert.is(other.requests[0]!.headers['x-api-key'], undefined)
  const withPassword = `http://user:pa55word@127.0.0.1:${hub.port}/r`
  const b = await download(opts(ctx, withPassword, { partialPath: join(ctx.dir, 'pw.part') }))
  assert.ok(b.ok)
  assert.is(hub.requests[1]!.headers.authorization, `Basic ${Buffer.from('user:pa55word').toString('base64')}`)
  assert.is(other.requests[1]!.headers.authorization, undefined)
  const notFound = await download(opts(ctx, `http://user:pa55word@127.0.0.1:${hub.port}/missing?token=${TOKEN}`, { partialPath: join(ctx.dir, 'nf.part') }))
  assert.not.ok(notFound.ok)
  if (notFound.ok) return
  assert.match(notFound.error.message, /^404 from 127\.0\.0\.1:\d+: not found/)
  assert.not.ok(notFound.error.message.includes('pa55word') || notFound.error.message.includes(TOKEN))
})

F('credentialFor: host and subdomains, origin rule, unset variable', () => {
  const rules: AuthRule[] = [{ host: 'huggingface.co', subdomains: true, env: 'HF_TOKEN', header: 'authorization' }]
  const env = { HF_TOKEN: 'hf_x' }
  assert.equal(credentialFor(new URL('https://huggingface.co/a'), rules, env), { header: 'authorization', value: 'Bearer hf_x', envName: 'HF_TOKEN' })
  assert.ok(credentialFor(new URL('https://cdn-lfs.huggingface.co/a'), rules, env, 'https://huggingface.co'))
  assert.is(credentialFor(new URL('https://evilhuggingface.co/a'), rules, env), undefined)
  assert.is(credentialFor(new URL('http://huggingface.co/a'), rules, env, 'https://huggingface.co'), undefined)
  assert.is(credentialFor(new URL('https://huggingface.co:8443/a'), rules, env, 'https://huggingface.co'), undefined)
  assert.is(credentialFor(new URL('https://huggingface.co/a'), rules, {}), undefined)
})

F('HEAD metadata: X-Linked-Etag is a sha256, an ordinary ETag is not; no body is fetched beyond the first bytes', async ctx => {
  const body = randomBytes(4096)
  const digest = sha(body)
  const cdn = await serve(ctx, { '/blob': { body, etag: `"${'f'.repeat(64)}"` } })
  const hub = await serve(ctx, {
    '/resolve/main/m.safetensors': { redirect: `${cdn.url}/blob?X-Amz-Signature=abc`, linkedEtag: `"${digest}"`, linkedSize: body.length, token: TOKEN },
    '/plain': { redirect: `${cdn.url}/blob` },
  })
  const h = await headMetadata(`${hub.url}/resolve/main/m.safetensors`, { rules: [rule()], env: { TEST_TOKEN: TOKEN } })
  assert.ok(h.ok, JSON.stringify(!h.ok && h.error))
  if (!h.ok) return
  assert.is(h.value.sha256, digest)
  assert.is(h.value.size, body.length)
  assert.is(cdn.requests.length, 0, 'stops at the hop that publishes the hash')
  const p = await headMetadata(`${hub.url}/plain`, { rules: [], env: {} })
  assert.ok(p.ok, JSON.stringify(!p.ok && p.error))
  if (!p.ok) return
  assert.is(p.value.sha256, undefined)
  assert.is(p.value.size, body.length)
  assert.is(p.value.etag, `"${'f'.repeat(64)}"`)
  assert.is(p.value.finalUrl, `${cdn.url}/blob`)
  // Besides HEAD, only the first bytes (to tell a page labelled as a binary): never the body.
  assert.ok([...hub.requests, ...cdn.requests].every(r => r.method === 'HEAD' || (r.method === 'GET' && r.headers.range === 'bytes=0-511')), JSON.stringify([...hub.requests, ...cdn.requests]))
  const denied = await headMetadata(`${hub.url}/resolve/main/m.safetensors`, { rules: [rule()], env: {} })
  assert.match(!denied.ok ? denied.error.message : '', /401 .*TEST_TOKEN is not set/)
})

F('file:// URLs are copied while hashing', async ctx => {
  const body = randomBytes(200_000)
  const src = join(ctx.dir, 'src.bin')
  await writeFile(src, body)
  const r = await download(opts(ctx, pathToFileURL(src).href, { expectedSha256: sha(body) }))
  assert.ok(r.ok && r.value.sha256 === sha(body) && r.value.size === body.length)
  const missing = await download(opts(ctx, pathToFileURL(join(ctx.dir, 'nope.bin')).href, { partialPath: join(ctx.dir, 'n.part') }))
  assert.is(!missing.ok && missing.error.reason, 'io')
})

F('a limit bounds concurrent downloads', within(async ctx => {
  const body = randomBytes(100_000)
  // The server answers nothing until every download the limit lets run is waiting for it: it then sees the limit's
  // whole concurrency at once, however the downloads are scheduled (a limit that let three through shows 3).
  let running = 0
  let peak = 0
  let waiting: ServerResponse[] = []
  const answerWhenAllWait = () => {
    if (waiting.length === 0 || waiting.length < running) return
    for (const res of waiting) res.end(body)
    waiting = []
  }
  const s = await serve(ctx, {
    '/m': { handler: (_req, res) => { waiting.push(res); peak = Math.max(peak, waiting.length); answerWhenAllWait() } },
  })
  // Counts the downloads holding a slot, as the limit lets them in and out.
  class Counted extends Limit {
    override async acquire(signal?: AbortSignal) {
      const release = await super.acquire(signal)
      running++
      let done = false
      return () => { if (done) return; done = true; running--; release(); answerWhenAllWait() }
    }
  }
  const limit = new Counted(2)
  const all = await Promise.all([0, 1, 2, 3, 4].map(i => download(opts(ctx, `${s.url}/m?i=${i}`, { limit, partialPath: join(ctx.dir, `l${i}`) }))))
  assert.ok(all.every(r => r.ok))
  assert.is(s.hits('/m'), 5)
  assert.is(peak, 2)
}))

F('a download waiting for a slot is cancelled by its signal without a request', async ctx => {
  const s = await serve(ctx, { '/m': { body: randomBytes(1000) } })
  const limit = new Limit(1)
  const held = await limit.acquire()
  const ac = new AbortController()
  const waiting = download(opts(ctx, `${s.url}/m`, { limit, signal: ac.signal, name: 'checkpoints/m.safetensors' }))
  ac.abort()
  const r = await waiting
  assert.is(!r.ok && r.error.reason, 'cancelled')
  assert.is(!r.ok && r.error.message, 'checkpoints/m.safetensors: download cancelled before it started')
  assert.is(s.requests.length, 0)
  held()
  // The cancelled download gave no slot away: the next one gets in at once.
  assert.ok((await download(opts(ctx, `${s.url}/m`, { limit }))).ok)
})

F('formatProgress', () => {
  assert.is(formatProgress({ bytes: 312_400_000, total: 6_938_078_334, rate: 48_200_000, etaS: 137 }), '4% 312.4 MB / 6.9 GB, 48.2 MB/s, 2m17s left')
  assert.is(formatProgress({ bytes: 512, rate: 0 }), '512 B')
  assert.is(formatProgress({ bytes: 1_500_000, rate: 1000, total: 4_000_000, etaS: 4000 }), '37% 1.5 MB / 4.0 MB, 1.0 kB/s, 1h06m left')
})

F.run()
