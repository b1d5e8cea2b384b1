import { suite } from 'uvu'
import { hostId } from '../lib/util/host-id.ts'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ensureBlob, type EnsureBlobOptions } from '../lib/models/ensure-blob.ts'
import { linkModels, linksStand, type LinkMode } from '../lib/models/link.ts'
import { pinFromMetadata } from '../lib/models/pin.ts'
import { blobPath, lookupUrl, partialPathFor, urlLockPath } from '../lib/models/store.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

interface Ctx { dir: string; store: string; home: string; servers: TestServer[] }
const M = suite<Ctx>('models', { dir: '', store: '', home: '', servers: [] })

M.before.each(guarded(async ctx => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'comfy-vc-models-'))
  ctx.store = join(ctx.dir, 'store')
  ctx.home = join(ctx.dir, 'home')
  ctx.servers = []
}))
M.after.each(guarded(async ctx => {
  for (const s of ctx.servers) await s.close()
  await chmodTree(ctx.dir)
  await rm(ctx.dir, { recursive: true, force: true })
}))

/** Blobs are read-only; make the tree removable. */
async function chmodTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name)
    if (e.isDirectory()) await chmodTree(p)
    else if (e.isFile()) await chmod(p, 0o644).catch(() => {})
  }
}

async function serve(ctx: Ctx, routes: Parameters<typeof startServer>[0]) {
  const s = await startServer(routes)
  ctx.servers.push(s)
  return s
}

const ensure = (ctx: Ctx, url: string, over: Partial<EnsureBlobOptions> = {}) => ensureBlob({
  modelsDir: ctx.store, url, name: 'checkpoints/m.safetensors', offline: false, rules: [], env: {},
  timeouts: { headersMs: 5_000, bodyMs: 5_000 }, retryDelayMs: 10, ...over,
})

/** Puts content into the store the way a download would, for link tests. */
async function stored(ctx: Ctx, body: Uint8Array): Promise<string> {
  const src = join(ctx.dir, `src-${sha(body).slice(0, 8)}`)
  await writeFile(src, body)
  const r = await ensure(ctx, pathToFileURL(src).href, { sha256: sha(body) })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  return sha(body)
}

M('two concurrent ensureBlob calls for one URL download it once', async ctx => {
  const body = randomBytes(600_000)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"1"', bytesPerSecond: 3_000_000 } })
  const [a, b] = await Promise.all([ensure(ctx, `${s.url}/m.bin`), ensure(ctx, `${s.url}/m.bin`)])
  assert.ok(a.ok && b.ok)
  if (!a.ok || !b.ok) return
  assert.is(s.hits('/m.bin'), 1)
  assert.equal([a.value.downloaded, b.value.downloaded].sort(), [false, true])
  assert.is(a.value.blob, blobPath(ctx.store, sha(body)))
  assert.is(b.value.sha256, sha(body))
  assert.equal(await readFile(a.value.blob), body)
  assert.is((await stat(a.value.blob)).mode & 0o222, 0, 'blobs are read-only')
  assert.equal(await readdir(join(ctx.store, 'incomplete')), [])
})

/** A lock as a process on another pod sharing the store left it, its heartbeat `ageMs` old. */
async function lockFromAnotherPod(lock: string, ageMs: number): Promise<void> {
  await mkdir(lock, { recursive: true })
  const owner = join(lock, 'owner.json')
  await writeFile(owner, JSON.stringify({ pid: 4242, host: 'pod-other', since: Date.now() - ageMs }))
  const then = new Date(Date.now() - ageMs)
  await utimes(owner, then, then)
}

M('the locks of a download a dead pod left on the shared store (heartbeat long gone) are taken over', async ctx => {
  const body = randomBytes(50_000)
  const s = await serve(ctx, { '/m.bin': { body, etag: '"1"' } })
  const url = `${s.url}/m.bin`
  await lockFromAnotherPod(urlLockPath(ctx.store, url), 10 * 60_000)
  await lockFromAnotherPod(`${partialPathFor(ctx.store, url)}.lock`, 10 * 60_000)
  const r = await ensure(ctx, url, { sha256: sha(body), signal: AbortSignal.timeout(30_000) })
  assert.ok(r.ok && r.value.downloaded, JSON.stringify(!r.ok && r.error))
})

M('waiting for a download another pod is doing is told as a note, and cancelling ends the wait', async ctx => {
  const body = randomBytes(1_000)
  const s = await serve(ctx, { '/m.bin': { body } })
  const url = `${s.url}/m.bin`
  await lockFromAnotherPod(urlLockPath(ctx.store, url), 0)
  const abort = new AbortController()
  const safety = setTimeout(() => abort.abort(), 30_000)
  const notes: string[] = []
  const r = await ensure(ctx, url, { signal: abort.signal, onNote: line => { notes.push(line); abort.abort() } })
  clearTimeout(safety)
  assert.is(!r.ok && r.error.reason, 'cancelled')
  assert.is(notes.length, 1)
  assert.match(notes[0]!, `waiting for another process fetching ${url} (held by pid 4242 on host pod-other since `)
  assert.is(s.hits('/m.bin'), 0)
})

M('an unpinned URL is downloaded once, then found through the index; a pinned blob needs no request', async ctx => {
  const body = randomBytes(50_000)
  const s = await serve(ctx, { '/m.bin': { body } })
  const url = `${s.url}/m.bin?token=SECRET-IN-QUERY`
  const first = await ensure(ctx, url)
  assert.ok(first.ok && first.value.downloaded && first.value.bytesFetched === body.length)
  assert.equal(await lookupUrl(ctx.store, url), { sha256: sha(body), size: body.length })
  const again = await ensure(ctx, url)
  assert.ok(again.ok && !again.value.downloaded && again.value.sha256 === sha(body))
  const pinned = await ensure(ctx, `${s.url}/elsewhere.bin`, { sha256: sha(body), size: body.length })
  assert.ok(pinned.ok && !pinned.value.downloaded)
  assert.is(s.requests.length, 1)
  const index = await readdir(join(ctx.store, 'index', 'url'))
  for (const f of index) assert.not.ok((await readFile(join(ctx.store, 'index', 'url', f), 'utf8')).includes('SECRET'))
})

M('two URLs that differ only in a secret-looking query value are two files, not one', async ctx => {
  const a = randomBytes(20_000)
  const b = randomBytes(20_000)
  const s = await serve(ctx, { '/download': { handler: (req, res) => { res.end(req.url?.endsWith('key=b') ? b : a) } } })
  const first = await ensure(ctx, `${s.url}/download?key=a`)
  const second = await ensure(ctx, `${s.url}/download?key=b`)
  assert.ok(first.ok && second.ok)
  if (!first.ok || !second.ok) return
  assert.is(first.value.sha256, sha(a))
  assert.is(second.value.sha256, sha(b), 'the second URL was taken for the first one')
  assert.is(s.requests.length, 2)
})

M('pinFromMetadata: the index first, then the host (a sha256 only from X-Linked-Etag); offline asks no host', async ctx => {
  const body = randomBytes(30_000)
  const s = await serve(ctx, {
    '/hf': { body, linkedEtag: `"${sha(body)}"`, linkedSize: body.length },
    '/plain': { body, etag: `"${sha(body)}"` },
    '/cached': { body },
  })
  const pin = (url: string, offline = false) => pinFromMetadata({ modelsDir: ctx.store, url, offline, rules: [], env: {} })
  assert.equal(await pin(`${s.url}/hf`), { ok: true, value: { sha256: sha(body), size: body.length, source: 'host' } })
  assert.equal(await pin(`${s.url}/plain`), { ok: true, value: { size: body.length, source: 'host' } })
  assert.ok((await ensure(ctx, `${s.url}/cached`)).ok)
  const before = s.requests.length
  assert.equal(await pin(`${s.url}/cached`, true), { ok: true, value: { sha256: sha(body), size: body.length, source: 'store' } })
  assert.equal(await pin(`${s.url}/hf`, true), { ok: true, value: { source: 'none' } })
  assert.is(s.requests.length, before)
})

M('pinFromMetadata: HEAD is best effort; only a URL that names nothing (404, 410, a missing file) or no connection is a problem', async ctx => {
  const body = randomBytes(10_000)
  const headAnswers = (status: number | undefined) => ({
    handler: (req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== 'HEAD') { res.writeHead(200).end(body); return }
      if (status !== undefined) res.writeHead(status).end()
    },
  })
  const s = await serve(ctx, { '/405': headAnswers(405), '/403': headAnswers(403), '/500': headAnswers(500), '/hang': headAnswers(undefined), '/410': headAnswers(410) })
  const rules = [{ host: '127.0.0.1', env: 'HF_TOKEN', header: 'authorization', subdomains: false }]
  const pin = (url: string) => pinFromMetadata({ modelsDir: ctx.store, url, offline: false, rules, env: {}, timeoutMs: 500 })
  const host = new URL(s.url).host
  assert.equal(await pin(`${s.url}/405`), { ok: true, value: { source: 'none', headUnanswered: `405 from ${host}` } })
  assert.equal(await pin(`${s.url}/500`), { ok: true, value: { source: 'none', headUnanswered: `500 from ${host}` } })
  assert.equal(await pin(`${s.url}/hang`), { ok: true, value: { source: 'none', headUnanswered: 'timed out' } })
  const refused = await pin(`${s.url}/403`)
  assert.match(refused.ok ? refused.value.headUnanswered ?? '' : '', /^403 from .*HF_TOKEN is not set/)
  for (const [path, reason] of [['/404', 'missing'], ['/410', 'missing']] as const) {
    const r = await pin(`${s.url}${path}`)
    assert.is(!r.ok && r.error.reason, reason, path)
  }
  const missing = join(ctx.dir, 'nope', 'm.bin')
  assert.equal(await pin(pathToFileURL(missing).href), { ok: false, error: { reason: 'missing', message: `${missing} does not exist` } })
  const closed = await serve(ctx, {})
  const port = closed.port
  await closed.close()
  const refusedConnection = await pin(`http://127.0.0.1:${port}/m.bin`)
  assert.is(!refusedConnection.ok && refusedConnection.error.reason, 'failed')
})

M('file:// URLs are hashed into the store; offline still reads them', async ctx => {
  const body = randomBytes(120_000)
  const src = join(ctx.dir, 'volume', 'm.bin')
  await mkdir(join(ctx.dir, 'volume'))
  await writeFile(src, body)
  const r = await ensure(ctx, pathToFileURL(src).href, { offline: true })
  assert.ok(r.ok && r.value.sha256 === sha(body) && r.value.downloaded)
  if (!r.ok) return
  assert.equal(await readFile(r.value.blob), body)
  assert.ok(existsSync(src), 'the source is left alone')
})

M('a local copy with the pinned sha256 becomes the blob by a hard link: no request, the file stays, a dead run\'s temp is cleared', async ctx => {
  const body = randomBytes(70_000)
  const s = await serve(ctx, { '/m.bin': { body } })
  const local = join(ctx.home, 'models', 'm.bin')
  await mkdir(join(ctx.home, 'models'), { recursive: true })
  await writeFile(local, body)
  // What a run killed while hashing leaves: a second name of the user's file, under a dead process id.
  const leftover = join(ctx.store, 'incomplete', `local.adopt-999999@${hostId()}-0badc0de`)
  await mkdir(join(ctx.store, 'incomplete'), { recursive: true })
  await link(local, leftover)
  const r = await ensure(ctx, `${s.url}/m.bin`, { sha256: sha(body), size: body.length, offline: true, localCopy: { path: local, shown: 'models/m.bin' } })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  if (!r.ok) return
  assert.is(r.value.takenFrom, 'models/m.bin')
  assert.is(r.value.downloaded, false)
  assert.is(s.requests.length, 0)
  assert.equal(await readFile(local), body, 'the user\'s file is still there')
  assert.is((await stat(local)).ino, (await stat(r.value.blob)).ino, 'the blob is the same file')
  assert.equal(await readdir(join(ctx.store, 'incomplete')), [])
  assert.equal(await lookupUrl(ctx.store, `${s.url}/m.bin`), { sha256: sha(body), size: body.length })
})

M('a local copy of the pinned size with another sha256 is left as it was, and the model is downloaded', async ctx => {
  const body = randomBytes(40_000)
  const s = await serve(ctx, { '/m.bin': { body } })
  const mine = Buffer.from(body)
  mine[7] = mine[7]! ^ 1
  const local = join(ctx.home, 'm.bin')
  await mkdir(ctx.home, { recursive: true })
  await writeFile(local, mine)
  await chmod(local, 0o640)
  const notes: string[] = []
  const r = await ensure(ctx, `${s.url}/m.bin`, { sha256: sha(body), size: body.length, localCopy: { path: local, shown: 'models/m.bin' }, onNote: n => notes.push(n) })
  assert.ok(r.ok && r.value.downloaded && r.value.takenFrom === undefined)
  assert.equal(await readFile(local), mine)
  assert.is((await stat(local)).mode & 0o777, 0o640, 'its mode untouched')
  assert.equal(notes, [`models/m.bin is there, but its sha256 is ${sha(mine)}, not the pinned ${sha(body)}`])
  assert.is(s.requests.length, 1)
})

M('a hash mismatch leaves nothing in the store; offline names the model and URL', async ctx => {
  const body = randomBytes(80_000)
  const s = await serve(ctx, { '/m.bin': { body, wrongBytes: true } })
  const r = await ensure(ctx, `${s.url}/m.bin`, { sha256: sha(body) })
  assert.is(!r.ok && r.error.reason, 'hash-mismatch')
  assert.not.ok(existsSync(blobPath(ctx.store, sha(body))))
  assert.equal(await readdir(join(ctx.store, 'incomplete')), [])
  const off = await ensure(ctx, `${s.url}/m.bin`, { sha256: sha(body), offline: true })
  assert.not.ok(off.ok)
  if (off.ok) return
  assert.is(off.error.reason, 'offline')
  assert.ok(off.error.message.includes('checkpoints/m.safetensors') && off.error.message.includes(`${s.url}/m.bin`))
})

for (const mode of ['symlink', 'hardlink', 'copy'] as LinkMode[]) {
  M(`links in ${mode} mode, idempotently, and linksStand sees a removed link`, async ctx => {
    const a = randomBytes(10_000)
    const b = randomBytes(20_000)
    const shaA = await stored(ctx, a)
    const shaB = await stored(ctx, b)
    const entries = [{ path: 'checkpoints/a.safetensors', sha256: shaA }, { path: 'loras/deep/b.safetensors', sha256: shaB }]
    const r = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode, entries, previous: [] })
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
    if (!r.ok) return
    assert.equal(r.value.linked.sort(), entries.map(e => e.path).sort())
    const linkA = join(ctx.home, 'models', 'checkpoints/a.safetensors')
    assert.equal(await readFile(linkA), a)
    const st = await lstat(linkA)
    const blobA = blobPath(ctx.store, shaA)
    if (mode === 'symlink') assert.is(await readlink(linkA), blobA)
    else assert.ok(st.isFile())
    assert.is(st.ino === (await stat(blobA)).ino, mode === 'hardlink', 'a hard link shares the inode, a copy does not')
    assert.ok(await linksStand(ctx.home, ctx.store, r.value.records))

    const again = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode, entries, previous: r.value.records })
    assert.ok(again.ok)
    if (!again.ok) return
    assert.equal(again.value.unchanged.sort(), entries.map(e => e.path).sort())
    assert.equal(again.value.linked, [])

    await rm(linkA)
    assert.not.ok(await linksStand(ctx.home, ctx.store, r.value.records))
  })
}

M('links the tool made for models no longer wanted are removed; a file a user put there instead is left', async ctx => {
  const shaA = await stored(ctx, randomBytes(1000))
  const shaB = await stored(ctx, randomBytes(2000))
  const shaC = await stored(ctx, randomBytes(3000))
  const entries = [
    { path: 'a.bin', sha256: shaA }, { path: 'x/b.bin', sha256: shaB }, { path: 'c.bin', sha256: shaC },
  ]
  const first = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', entries, previous: [] })
  assert.ok(first.ok)
  if (!first.ok) return
  const models = join(ctx.home, 'models')
  await rm(join(models, 'c.bin'))
  await writeFile(join(models, 'c.bin'), 'my own file')
  const next = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', entries: [entries[0]!], previous: first.value.records })
  assert.ok(next.ok)
  if (!next.ok) return
  assert.equal(next.value.removed, ['x/b.bin'])
  assert.equal(next.value.left, ['c.bin'])
  assert.not.ok(existsSync(join(models, 'x/b.bin')))
  assert.is(await readFile(join(models, 'c.bin'), 'utf8'), 'my own file')
  assert.ok(existsSync(blobPath(ctx.store, shaB)), 'the blob stays in the store')
})

M('with a manifest, links made by a run that failed elsewhere are remembered and removed later', async ctx => {
  const shaA = await stored(ctx, randomBytes(100))
  const manifestPath = join(ctx.home, '.comfy-vc', 'links.json')
  const models = join(ctx.home, 'models')
  await mkdir(models, { recursive: true })
  await writeFile(join(models, 'taken.bin'), 'a user file')
  const first = await linkModels({
    home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [], manifestPath,
    entries: [{ path: 'a.bin', sha256: shaA }, { path: 'taken.bin', sha256: shaA }],
  })
  assert.is(!first.ok && first.error[0]!.path, 'taken.bin')
  const second = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [], manifestPath, entries: [] })
  assert.ok(second.ok && second.value.removed.join() === 'a.bin')
  assert.not.ok(existsSync(join(models, 'a.bin')))
  assert.is(await readFile(join(models, 'taken.bin'), 'utf8'), 'a user file')
  assert.equal(JSON.parse(await readFile(manifestPath, 'utf8')), [])
})

M('a user file with another hash is kept (an error); one with the pinned hash is adopted', async ctx => {
  const wanted = randomBytes(5000)
  const shaWanted = sha(wanted)
  const models = join(ctx.home, 'models')
  await mkdir(join(models, 'vae'), { recursive: true })
  await writeFile(join(models, 'vae', 'mine.bin'), 'something else')
  await writeFile(join(models, 'vae', 'same.bin'), wanted)
  const r = await linkModels({
    home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [],
    entries: [{ path: 'vae/mine.bin', sha256: shaWanted }, { path: 'vae/same.bin', sha256: shaWanted }],
  })
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.is(r.error.length, 1)
  assert.is(r.error[0]!.reason, 'user-file')
  assert.is(r.error[0]!.path, 'vae/mine.bin')
  assert.match(r.error[0]!.message, /models\/vae\/mine\.bin is a file the tool did not create .* it is kept/)
  assert.is(await readFile(join(models, 'vae', 'mine.bin'), 'utf8'), 'something else')
  // The matching file moved into the store (there was no blob yet) and is linked from its old place.
  assert.is(await readlink(join(models, 'vae', 'same.bin')), blobPath(ctx.store, shaWanted))
  assert.equal(await readFile(blobPath(ctx.store, shaWanted)), wanted)
})

M('a file that replaced a link the tool made is kept, and the error says the tool made a link there', async ctx => {
  const shaA = await stored(ctx, randomBytes(1000))
  const manifestPath = join(ctx.home, '.comfy-vc', 'links.json')
  const entries = [{ path: 'a.bin', sha256: shaA }]
  const first = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [], manifestPath, entries })
  assert.ok(first.ok)
  const at = join(ctx.home, 'models', 'a.bin')
  await rm(at)
  await writeFile(at, 'mine')
  const r = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [], manifestPath, entries })
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.is(r.error[0]!.message, `models/a.bin: the symbolic link the tool made was replaced (sha256 ${sha(Buffer.from('mine'))}, pinned ${shaA}); `
    + 'it is kept. Move it away or delete it and realize again to restore the pinned file.')
  assert.is(await readFile(at, 'utf8'), 'mine')
})

M('adoption through linkModels result, and a missing blob is reported', async ctx => {
  const body = randomBytes(3000)
  const models = join(ctx.home, 'models')
  await mkdir(models, { recursive: true })
  await writeFile(join(models, 'm.bin'), body)
  const r = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'hardlink', previous: [], entries: [{ path: 'm.bin', sha256: sha(body) }] })
  assert.ok(r.ok)
  if (!r.ok) return
  assert.equal(r.value.adopted, ['m.bin'])
  assert.is((await stat(join(models, 'm.bin'))).ino, (await stat(blobPath(ctx.store, sha(body)))).ino)
  const missing = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [], entries: [{ path: 'n.bin', sha256: 'a'.repeat(64) }] })
  assert.is(!missing.ok && missing.error[0]!.reason, 'missing-blob')
})

M('models/ may itself be a symlink (to a bigger disk): links land there', async ctx => {
  const shaA = await stored(ctx, randomBytes(100))
  const real = join(ctx.dir, 'bigdisk', 'models')
  await mkdir(real, { recursive: true })
  await mkdir(ctx.home)
  await symlink(real, join(ctx.home, 'models'))
  const r = await linkModels({ home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [], entries: [{ path: 'unet/a.bin', sha256: shaA }] })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
  assert.is(await readlink(join(real, 'unet', 'a.bin')), blobPath(ctx.store, shaA))
})

// /dev/shm is another file system on Linux machines: hard links cannot cross it, renames neither.
const otherFs = existsSync('/dev/shm') ? '/dev/shm' : undefined
M('across file systems: a hard link falls back to a copy, and adoption copies into the store', async ctx => {
  if (!otherFs || (await stat(otherFs)).dev === (await stat(ctx.dir)).dev) return
  const store = await mkdtemp(join(otherFs, 'comfy-vc-store-'))
  try {
    const body = randomBytes(4000)
    const models = join(ctx.home, 'models')
    await mkdir(models, { recursive: true })
    await writeFile(join(models, 'adopt.bin'), body)
    const r = await linkModels({ home: ctx.home, modelsDir: store, mode: 'hardlink', previous: [], entries: [{ path: 'adopt.bin', sha256: sha(body) }] })
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error))
    if (!r.ok) return
    assert.equal(r.value.adopted, ['adopt.bin'])
    assert.is(r.value.records[0]!.mode, 'copy')
    assert.equal(await readFile(blobPath(store, sha(body))), body)
    assert.equal(await readFile(join(models, 'adopt.bin')), body)
    assert.ok(await linksStand(ctx.home, store, r.value.records))
    const again = await linkModels({ home: ctx.home, modelsDir: store, mode: 'hardlink', previous: r.value.records, entries: [{ path: 'adopt.bin', sha256: sha(body) }] })
    assert.ok(again.ok && again.value.unchanged.length === 1)

    // A local copy of a model whose blob is missing is copied into a store on another file system.
    const other = randomBytes(5000)
    await writeFile(join(models, 'other.bin'), other)
    const got = await ensure(ctx, 'http://127.0.0.1:9/other.bin', { modelsDir: store, sha256: sha(other), offline: true, localCopy: { path: join(models, 'other.bin'), shown: 'models/other.bin' } })
    assert.ok(got.ok && got.value.takenFrom === 'models/other.bin', JSON.stringify(got))
    assert.equal(await readFile(blobPath(store, sha(other))), other)
    assert.equal(await readFile(join(models, 'other.bin')), other, 'the local file stays')
  } finally {
    await chmodTree(store)
    await rm(store, { recursive: true, force: true })
  }
})

M('paths cannot escape models/: traversal and a symlinked folder leading outside are refused', async ctx => {
  const shaA = await stored(ctx, randomBytes(100))
  const outside = join(ctx.dir, 'outside')
  await mkdir(outside)
  const models = join(ctx.home, 'models')
  await mkdir(join(models, 'inner'), { recursive: true })
  await symlink(outside, join(models, 'escape'))
  await symlink(join(models, 'inner'), join(models, 'alias'))
  const r = await linkModels({
    home: ctx.home, modelsDir: ctx.store, mode: 'symlink', previous: [],
    entries: [
      { path: '../evil.bin', sha256: shaA }, { path: 'escape/evil.bin', sha256: shaA },
      { path: 'escape/deeper/evil.bin', sha256: shaA }, { path: 'alias/ok.bin', sha256: shaA },
    ],
  })
  assert.not.ok(r.ok)
  if (r.ok) return
  assert.equal(r.error.map(p => p.path), ['../evil.bin', 'escape/evil.bin', 'escape/deeper/evil.bin'])
  assert.ok(r.error.every(p => p.reason === 'unsafe-path'))
  assert.match(r.error[1]!.message, /symbolic link .* outside models\//)
  assert.equal(await readdir(outside), [])
  assert.not.ok(existsSync(join(ctx.home, 'evil.bin')))
  assert.is(await readlink(join(models, 'inner', 'ok.bin')), blobPath(ctx.store, shaA))
})

M.run()
