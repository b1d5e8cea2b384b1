/**
 * Models through the real CLI (issue 4): resumable downloads after Ctrl-C, one fetch for two processes,
 * credentials bound to their host, failures named, links kept in step with the spec, no-op runs,
 * pinning from the store and --frozen. Models come from servers on 127.0.0.1.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { chmodSync, closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { collect, makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

interface Model { path: string; route: string; bytes: Buffer; sha256: string }
interface Ctx { w: World; core: TestRepo; srv: TestServer; models: Record<string, Model>; authDir: string }
const M = suite<Ctx>('cli: models (fetch, resume, auth, links)')

const TOKEN = 'hf_TestSecretToken0123456789abcdef'

/** Deterministic bytes standing in for weights. */
function bytesOf(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size)
  let block = createHash('sha256').update(seed).digest()
  for (let i = 0; i < size; i += block.length) { block.copy(out, i); block = createHash('sha256').update(block).digest() }
  return out
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const blobOf = (cache: string, sha256: string) => join(cache, 'models', 'sha256', sha256.slice(0, 2), sha256)

const entry = (ctx: Ctx, name: string, o: { pinned?: boolean; url?: string } = {}) => {
  const m = ctx.models[name]!
  return { path: m.path, url: o.url ?? `${ctx.srv.url}${m.route}`, ...(o.pinned === false ? {} : { sha256: m.sha256, size: m.bytes.length }) }
}
const spec = (ctx: Ctx, id: string, models: unknown[]) => ({
  schema_version: 2, id, comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] }, models,
})
type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; details?: string[]; note?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const gets = (srv: TestServer, route: string) => srv.requests.filter(r => r.method === 'GET' && new URL(r.path, 'http://x').pathname === route)

/** Every regular file under a folder (symlinks not followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const st = lstatSync(p)
      if (st.isDirectory()) walk(p)
      else if (st.isFile()) out.push(p)
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

async function waitFor(cond: () => boolean, what: string, tries = 1200): Promise<void> {
  for (let i = 0; i < tries && !cond(); i++) await new Promise(r => setTimeout(r, 50))
  assert.ok(cond(), `timed out waiting for ${what}`)
}

M.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  ctx.core = await makeRepo(join(ctx.w.dir, 'repos'), 'ComfyUI', [{
    'main.py': 'print("core")\n', 'requirements.txt': '', 'models/checkpoints/put_checkpoints_here': '',
  }], { branch: 'master' })
  const def = (path: string, route: string, size: number): Model => {
    const bytes = bytesOf(route, size)
    return { path, route, bytes, sha256: sha(bytes) }
  }
  ctx.models = {
    a: def('checkpoints/a.safetensors', '/a.bin', 192 * 1024),
    b: def('vae/b.safetensors', '/b.bin', 96 * 1024),
    c: def('loras/c.safetensors', '/c.bin', 64 * 1024),
    d: def('loras/d.safetensors', '/d.bin', 48 * 1024),
    gated: def('checkpoints/gated.safetensors', '/gated.bin', 32 * 1024),
    wrong: def('checkpoints/wrong.safetensors', '/wrong.bin', 16 * 1024),
    mine: def('checkpoints/mine.safetensors', '/mine.bin', 8 * 1024),
    edited: def('checkpoints/edited.safetensors', '/edited.bin', 40 * 1024),
    copied: def('checkpoints/copied.safetensors', '/copied.bin', 24 * 1024),
    found: def('loras/found.safetensors', '/found.bin', 36 * 1024),
    clash: def('loras/clash.safetensors', '/clash.bin', 20 * 1024),
  }
  const r = ctx.models
  ctx.srv = await startServer({
    '/a.bin': { body: r.a!.bytes, etag: '"a1"', bytesPerSecond: 48 * 1024 },
    '/b.bin': { body: r.b!.bytes, etag: '"b1"', bytesPerSecond: 48 * 1024 },
    '/c.bin': { body: r.c!.bytes, etag: '"c1"', bytesPerSecond: 128 * 1024 },
    '/d.bin': { body: r.d!.bytes, etag: '"d1"', bytesPerSecond: 128 * 1024 },
    '/wrong.bin': { body: r.wrong!.bytes, etag: '"w1"', wrongBytes: true },
    '/mine.bin': { body: r.mine!.bytes, etag: '"m1"' },
    '/edited.bin': { body: r.edited!.bytes, etag: '"e1"' },
    '/copied.bin': { body: r.copied!.bytes, etag: '"k1"' },
    '/found.bin': { body: r.found!.bytes, etag: '"f1"' },
    '/clash.bin': { body: r.clash!.bytes, etag: '"x1"' },
  })
  ctx.authDir = join(ctx.w.dir, 'auth-cwd')
  await mkdir(ctx.authDir, { recursive: true })
  await writeFile(join(ctx.authDir, 'cache.config.ts'), `export default { auth: [{ host: '127.0.0.1', env: 'HF_TOKEN' }] }\n`)
}))
M.after(guarded(async ctx => { await ctx.srv.close(); await ctx.w.cleanup() }))

M('Ctrl-C in the middle of two downloads exits 130; the next realize resumes with Range and links the blobs', async ctx => {
  const { w, srv, models } = ctx
  await w.writeSpec('m1', spec(ctx, 'm1', [entry(ctx, 'a'), entry(ctx, 'b')]))
  const child = w.spawn(['realize', 'm1'])
  const done = collect(child, { timeoutMs: 60_000 })
  const incomplete = join(w.cache, 'models', 'incomplete')
  // A partial is named by its URL's key alone: the sidecar, its temporary twin and the lock folder all have a dot.
  const partialBytes = () => filesUnder(incomplete).filter(f => !basename(f).includes('.')).reduce((n, f) => n + statSync(f).size, 0)
  await waitFor(() => partialBytes() > 0, 'a partial download')
  child.kill('SIGINT')
  const stopped = await done
  assert.is(stopped.code, 130, stopped.stderr)
  assert.not.match(stopped.stderr, /\n\s+at /, 'no stack trace')
  assert.ok(partialBytes() > 0, 'the partial is kept')
  assert.not.ok(existsSync(blobOf(w.cache, models.a!.sha256)) && existsSync(blobOf(w.cache, models.b!.sha256)), 'interrupted before both finished')

  srv.routes['/a.bin']!.bytesPerSecond = undefined
  srv.routes['/b.bin']!.bytesPerSecond = undefined
  const again = await w.cli(['realize', 'm1', '--json'])
  assert.is(again.code, 0, again.stderr)
  const resumed = srv.requests.filter(r => r.method === 'GET' && /^bytes=[1-9]\d*-$/.test(String(r.headers.range ?? '')))
  assert.ok(resumed.length > 0, `a Range request: ${JSON.stringify(srv.requests.map(r => [r.method, r.path, r.headers.range]))}`)
  for (const r of resumed) {
    const m = Object.values(models).find(x => x.route === r.path)!
    assert.ok(Number(/\d+/.exec(String(r.headers.range))![0]) < m.bytes.length)
  }
  for (const name of ['a', 'b']) {
    const m = models[name]!
    const blob = blobOf(w.cache, m.sha256)
    assert.is(sha(readFileSync(blob)), m.sha256, `${name}: the blob is the pinned content`)
    const at = join(w.home('m1'), 'models', m.path)
    assert.ok(lstatSync(at).isSymbolicLink(), `models/${m.path} is a symlink`)
    assert.is(readlinkSync(at), blob)
  }
})

M('two versions sharing models, realized at the same time: each model is downloaded once, both homes linked', async ctx => {
  const { w, srv, models } = ctx
  const before = { a: gets(srv, '/a.bin').length, b: gets(srv, '/b.bin').length }
  await w.writeSpec('m2', spec(ctx, 'm2', [entry(ctx, 'a'), entry(ctx, 'b'), entry(ctx, 'c'), entry(ctx, 'd', { pinned: false })]))
  await w.writeSpec('m3', spec(ctx, 'm3', [entry(ctx, 'c'), entry(ctx, 'd', { pinned: false })]))
  const [r2, r3] = await Promise.all([w.cli(['realize', 'm2', '--json']), w.cli(['realize', 'm3', '--json'])])
  assert.is(r2.code, 0, r2.stderr)
  assert.is(r3.code, 0, r3.stderr)
  assert.is(gets(srv, '/c.bin').length, 1, 'c fetched once')
  assert.is(gets(srv, '/d.bin').length, 1, 'd fetched once')
  assert.equal({ a: gets(srv, '/a.bin').length, b: gets(srv, '/b.bin').length }, before, 'models already in the store are not fetched')
  for (const [id, names] of [['m2', ['a', 'b', 'c', 'd']], ['m3', ['c', 'd']]] as const) {
    for (const name of names) {
      const m = models[name]!
      assert.is(readlinkSync(join(w.home(id), 'models', m.path)), blobOf(w.cache, m.sha256), `${id}: ${m.path}`)
    }
  }
  assert.match(task(r2.json(), 'fetch-model:checkpoints/a.safetensors').note ?? '', /already in the store/)
})

M('a second realize with models downloads nothing and skips every task', async ctx => {
  const { w, srv } = ctx
  const seen = srv.requests.length
  const r = await w.cli(['realize', 'm2', '--json'])
  assert.is(r.code, 0, r.stderr)
  const report = r.json<Report>()
  assert.ok(report.tasks.every(t => t.status === 'skipped'), r.stdout)
  assert.is(srv.requests.length, seen, 'no request reached the server')
})

M('a blob written to after it was verified is noticed by the next realize: hashed, fetched again, linked', async ctx => {
  const { w, srv } = ctx
  const d = ctx.models.d!
  await w.writeSpec('seal', spec(ctx, 'seal', [entry(ctx, 'd')]))
  const first = await w.cli(['realize', 'seal'])
  assert.is(first.code, 0, first.stderr)
  const blob = blobOf(w.cache, d.sha256)
  assert.is(statSync(blob).mtimeMs, 1000, 'a verified blob is sealed with the mtime 1 s')
  const fetches = gets(srv, d.route).length
  chmodSync(blob, 0o644)
  const fd = openSync(blob, 'r+')
  writeSync(fd, Buffer.from('not the weights'), 0, 15, 100)
  closeSync(fd)
  const r = await w.cli(['realize', 'seal', '--json'])
  assert.is(r.code, 0, r.stderr)
  const fetch = task(r.json<Report>(), `fetch-model:${d.path}`)
  assert.is(fetch.status, 'ran')
  assert.is(gets(srv, d.route).length, fetches + 1, 'fetched again')
  assert.match(r.stderr, /the store's blob .* was changed on disk/)
  assert.is(sha(readFileSync(join(w.home('seal'), 'models', d.path))), d.sha256)
  const again = await w.cli(['realize', 'seal', '--json'])
  assert.ok(again.json<Report>().tasks.every(t => t.status === 'skipped'), again.stdout)
})

M('--frozen refuses a model without sha256; validate pins it from the store after a realize', async ctx => {
  const { w, models, srv } = ctx
  const frozen = await w.cli(['realize', 'm3', '--frozen', '--json'])
  assert.is(frozen.code, 2, frozen.stderr)
  assert.match(frozen.stderr, /models\[1\]\.sha256/)
  const seen = srv.requests.length
  const v = await w.cli(['validate', 'm3', '--json'])
  assert.is(v.code, 0, v.stderr)
  assert.is(srv.requests.length, seen, 'validate pinned from the store, without asking the host')
  const pinned = v.json().pinned as { path: string; value: string; from: string }[]
  assert.ok(pinned.some(p => p.path === 'models[1].sha256' && p.value === models.d!.sha256 && p.from === 'the model store'), v.stdout)
  const file = JSON.parse(await readFile(join(w.versions, 'm3.json'), 'utf8'))
  assert.is(file.models[1].sha256, models.d!.sha256)
  assert.is(file.models[1].size, models.d!.bytes.length)
  const ok = await w.cli(['realize', 'm3', '--frozen', '--json'])
  assert.is(ok.code, 0, ok.stderr)

  // Offline, a model the store does not know stays unpinned, and the host is not asked.
  await w.writeSpec('m4', spec(ctx, 'm4', [entry(ctx, 'mine', { pinned: false })]))
  const seen4 = srv.requests.length
  const off = await w.cli(['validate', 'm4', '--offline', '--json'])
  assert.is(off.code, 0, off.stderr)
  assert.is(srv.requests.length, seen4)
  const still = off.json().unpinned as { path: string; problem: string }[]
  assert.is(still[0]!.path, 'models[0].sha256')
  assert.match(still[0]!.problem, /offline/)
})

M('HF_TOKEN reaches the model host only, never a redirect target on another port, and is written nowhere', async ctx => {
  const { w, models, srv } = ctx
  const other = await startServer({ '/blob/gated.bin': { body: models.gated!.bytes, etag: '"g1"' } })
  try {
    srv.routes['/gated.bin'] = { token: TOKEN, redirect: `${other.url}/blob/gated.bin` }
    await w.writeSpec('tok', spec(ctx, 'tok', [entry(ctx, 'gated')]))
    const cache = join(w.dir, 'cache-tok')
    const r = await w.cli(['realize', 'tok', '--json'], { cwd: ctx.authDir, env: { HF_TOKEN: TOKEN, COMFY_CACHE_ROOT: cache } })
    assert.is(r.code, 0, r.stderr)
    const asked = srv.requests.filter(q => q.path === '/gated.bin')
    assert.ok(asked.length > 0 && asked.every(q => q.headers.authorization === `Bearer ${TOKEN}`), 'the model host got the token')
    assert.ok(other.requests.length > 0, 'the redirect was followed')
    assert.ok(other.requests.every(q => q.headers.authorization === undefined && !JSON.stringify(q.headers).includes(TOKEN)), 'no token to the other port')
    assert.is(readlinkSync(join(w.home('tok'), 'models', models.gated!.path)), blobOf(cache, models.gated!.sha256))
    assert.not.ok(r.stdout.includes(TOKEN) || r.stderr.includes(TOKEN), 'no token in the output')
    for (const f of [...filesUnder(w.home('tok')), ...filesUnder(cache)]) {
      assert.not.ok(readFileSync(f).includes(TOKEN), `the token is in ${f}`)
    }
  } finally {
    await other.close()
  }
})

M('secrets in query parameters of any credential-like name reach no file the tool writes and none of its output', async ctx => {
  const { w, srv } = ctx
  const S = { hf: 'hfqSECRET333', sig: 'sigSECRET444', session: 'sessSECRET555', key: 'keySECRET666' }
  const body = bytesOf('/q/hq.bin', 24 * 1024)
  srv.routes['/q/hq.bin'] = { body, etag: '"q1"' }
  srv.routes['/q/e500.bin'] = { body, failTimes: 1_000, failStatus: 500 }
  const hq = `${srv.url}/q/hq.bin?hf_token=${S.hf}&X-Amz-Signature=${S.sig}&sessionToken=${S.session}`
  const e500 = `${srv.url}/q/e500.bin?x-api-key=${S.key}`
  const models = [{ url: hq, path: 'loras/hq.safetensors' }, { url: e500, path: 'loras/e500.safetensors' }]
  const input = join(w.dir, 'secret-models.json')
  await writeFile(input, JSON.stringify(models))
  // The user's own spec may hold them: it is the one file allowed to.
  await w.writeSpec('hand', spec(ctx, 'hand', models))
  const runs = [
    await w.cli(['create', 'imported', '--repo', ctx.core.url, '--models', input, '--json']),
    await w.cli(['validate', 'hand', '--json']),
    await w.cli(['plan', 'hand', '--json']),
    await w.cli(['realize', 'hand', '--json']),
    await w.cli(['realize', 'hand']),
    await w.cli(['validate', 'hand', '--check', '--json']),
    await w.cli(['list', '--json']),
  ]
  assert.equal(runs.map(r => r.code), [0, 0, 0, 1, 1, 1, 0], runs.map(r => r.stderr).join('\n----\n'))
  assert.match(runs[0]!.stderr, /entry \[0\]: removed the signature of a presigned URL/)
  assert.match(runs[0]!.stderr, /entry \[1\]: removed credentials from the URL/)
  const report = runs[3]!.json<Report>()
  assert.is(task(report, 'fetch-model:loras/hq.safetensors').status, 'ran', 'the hand-written URL is used as written')
  assert.match(task(report, 'fetch-model:loras/e500.safetensors').error!, /500 from .*x-api-key=\*\*\*\*/)
  assert.ok(srv.requests.some(q => q.method === 'GET' && q.path.includes(S.sig)), 'the host got the signed URL')
  const imported = JSON.parse(await readFile(join(w.versions, 'imported.json'), 'utf8'))
  assert.equal(imported.models.map((m: { url: string }) => m.url), [`${srv.url}/q/hq.bin`, `${srv.url}/q/e500.bin`])
  for (const r of runs) for (const secret of Object.values(S)) assert.not.ok(r.stdout.includes(secret) || r.stderr.includes(secret), `${secret} in the output of a run:\n${r.stdout}\n${r.stderr}`)
  for (const f of filesUnder(w.dir)) {
    if (f === join(w.versions, 'hand.json') || f === input) continue
    const bytes = readFileSync(f)
    for (const secret of Object.values(S)) assert.not.ok(bytes.includes(secret), `${secret} is in ${f}`)
  }
})

M('a 401 names the missing token; wrong bytes fail with both hashes; nothing is linked', async ctx => {
  const { w, models, srv } = ctx
  srv.routes['/gated401.bin'] = { token: TOKEN, body: models.gated!.bytes }
  await w.writeSpec('bad', spec(ctx, 'bad', [
    { ...entry(ctx, 'gated'), url: `${srv.url}/gated401.bin` },
    entry(ctx, 'wrong'),
  ]))
  const r = await w.cli(['realize', 'bad', '--json'], { cwd: ctx.authDir })
  assert.is(r.code, 1, r.stderr)
  const report = r.json<Report>()
  const gated = task(report, `fetch-model:${models.gated!.path}`)
  assert.is(gated.status, 'failed')
  assert.match(gated.error!, /401/)
  assert.match(gated.error!, /HF_TOKEN is not set/)
  const wrong = task(report, `fetch-model:${models.wrong!.path}`)
  assert.is(wrong.status, 'failed')
  const actual = sha((() => { const b = Buffer.from(models.wrong!.bytes); b[b.length >> 1] = (b[b.length >> 1]! + 1) & 0xff; return b })())
  assert.match(wrong.error!, new RegExp(`expected ${models.wrong!.sha256}, got ${actual}`))
  assert.is(task(report, 'link').status, 'blocked')
  for (const m of [models.gated!, models.wrong!]) assert.not.ok(existsSync(join(w.home('bad'), 'models', m.path)), `models/${m.path} not linked`)
  assert.not.ok(existsSync(blobOf(w.cache, actual)), 'the wrong bytes are not in the store')
})

M('a model dropped from the spec loses its link; a user\'s file at a model path is kept and named', async ctx => {
  const { w, models } = ctx
  const home = w.home('m1')
  await w.writeSpec('m1', spec(ctx, 'm1', [entry(ctx, 'a')]))
  const dropped = await w.cli(['realize', 'm1', '--json'])
  assert.is(dropped.code, 0, dropped.stderr)
  assert.not.ok(existsSync(join(home, 'models', models.b!.path)), 'b\'s link is removed')
  assert.ok(lstatSync(join(home, 'models', models.a!.path)).isSymbolicLink())
  assert.ok(existsSync(blobOf(w.cache, models.b!.sha256)), 'the blob stays in the store')

  const userFile = join(home, 'models', models.mine!.path)
  await writeFile(userFile, 'my own weights\n')
  await w.writeSpec('m1', spec(ctx, 'm1', [entry(ctx, 'a'), entry(ctx, 'mine')]))
  const r = await w.cli(['realize', 'm1', '--json'])
  assert.is(r.code, 1, r.stderr)
  const link = task(r.json<Report>(), 'link')
  assert.is(link.status, 'failed')
  assert.ok(link.error!.includes(`models/${models.mine!.path}`), JSON.stringify(link))
  assert.match(link.details![0]!, new RegExp(`^models/${models.mine!.path} is a file the tool did not create`))
  assert.is(await readFile(userFile, 'utf8'), 'my own weights\n', 'the user\'s file is kept')
  assert.ok(lstatSync(join(home, 'models', models.a!.path)).isSymbolicLink(), 'the other link stands')
  await w.writeSpec('m1', spec(ctx, 'm1', [entry(ctx, 'a')]))
  const back = await w.cli(['realize', 'm1'])
  assert.is(back.code, 0, back.stderr)
  assert.is(await readFile(userFile, 'utf8'), 'my own weights\n', 'still kept once the model left the spec')
})

M('link_mode hardlink and copy in cache.config.ts make hard links and copies', async ctx => {
  const { w, models } = ctx
  const at = join(w.home('m1'), 'models', models.a!.path)
  const blob = blobOf(w.cache, models.a!.sha256)
  for (const mode of ['hardlink', 'copy'] as const) {
    const dir = await linkModeDir(w, mode)
    const r = await w.cli(['realize', 'm1', '--json'], { cwd: dir })
    assert.is(r.code, 0, r.stderr)
    assert.is(task(r.json<Report>(), 'link').status, 'ran')
    const st = lstatSync(at)
    assert.ok(st.isFile(), `${mode}: a regular file`)
    if (mode === 'hardlink') assert.is(st.ino, statSync(blob).ino, 'the blob\'s inode')
    else assert.is.not(st.ino, statSync(blob).ino, 'its own inode')
    assert.is(sha(readFileSync(at)), models.a!.sha256)
    const again = await w.cli(['realize', 'm1', '--json'], { cwd: dir })
    assert.is(task(again.json<Report>(), 'link').status, 'skipped', `${mode}: a second run keeps it`)
  }
})

/** A folder whose cache.config.ts sets link_mode, to run the CLI from. */
async function linkModeDir(w: World, mode: 'hardlink' | 'copy'): Promise<string> {
  const dir = join(w.dir, `link-${mode}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'cache.config.ts'), `export default { link_mode: '${mode}' }\n`)
  return dir
}

/**
 * Realizes version `id` with the one model `key` in `mode`, then does to the model in the home what root on a pod
 * can do to a read-only file: make it writable and change 4 bytes in place.
 */
async function realizeThenEdit(ctx: Ctx, id: string, key: string, mode: 'hardlink' | 'copy'): Promise<{ cwd: string; at: string; m: Model }> {
  const m = ctx.models[key]!
  const cwd = await linkModeDir(ctx.w, mode)
  await ctx.w.writeSpec(id, spec(ctx, id, [entry(ctx, key)]))
  const first = await ctx.w.cli(['realize', id], { cwd })
  assert.is(first.code, 0, first.stderr)
  const at = join(ctx.w.home(id), 'models', m.path)
  chmodSync(at, 0o644)
  const fd = openSync(at, 'r+')
  writeSync(fd, Buffer.from('XXXX'), 0, 4, 1000)
  closeSync(fd)
  return { cwd, at, m }
}

M('hardlink mode: a model edited in place (and so its blob) is linked to a fresh blob by the next realize', async ctx => {
  const { w, srv } = ctx
  const { cwd, at, m } = await realizeThenEdit(ctx, 'hl', 'edited', 'hardlink')
  const fetches = gets(srv, m.route).length

  const r = await w.cli(['realize', 'hl', '--json'], { cwd })
  assert.is(r.code, 0, r.stderr)
  assert.is(gets(srv, m.route).length, fetches + 1, 'the changed blob is fetched again')
  assert.not.match(r.stderr, /is there, but its sha256/, 'the edited file, once the blob, is not hashed again as a local copy')
  assert.is(task(r.json<Report>(), 'link').status, 'ran')
  assert.is(sha(readFileSync(at)), m.sha256, 'the home has the pinned content again')
  assert.is(statSync(at).ino, statSync(blobOf(w.cache, m.sha256)).ino, 'a hard link of the fresh blob')
  const again = await w.cli(['realize', 'hl', '--json'], { cwd })
  assert.is(again.code, 0, again.stderr)
  assert.ok(again.json<Report>().tasks.every(t => t.status === 'skipped'), again.stdout)
})

M('copy mode: a copy the user edited is kept, and the error says the tool made it and how to get the pinned file back', async ctx => {
  const { w } = ctx
  const { cwd, at, m } = await realizeThenEdit(ctx, 'cp', 'copied', 'copy')
  const edited = readFileSync(at)
  const expected = `models/${m.path}: the copy the tool made was changed (sha256 ${sha(edited)}, pinned ${m.sha256}); it is kept. `
    + 'Move it away or delete it and realize again to restore the pinned file.'
  for (const run of ['first', 'second']) {
    const r = await w.cli(['realize', 'cp', '--json'], { cwd })
    assert.is(r.code, 1, r.stderr)
    const link = task(r.json<Report>(), 'link')
    assert.is(link.status, 'failed')
    assert.equal(link.details, [expected], `${run} realize after the edit`)
    assert.not.match(r.stderr, /did not create/)
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace')
    assert.equal(readFileSync(at), edited, 'the edited copy is kept')
  }
  rmSync(at)
  const restored = await w.cli(['realize', 'cp'], { cwd })
  assert.is(restored.code, 0, restored.stderr)
  assert.is(sha(readFileSync(at)), m.sha256)
})

/** A realized home without models, where the user then puts `bytes` at model `key`'s path, and the model joins the spec. */
async function userFileAtModelPath(ctx: Ctx, id: string, key: string, bytes: Uint8Array): Promise<string> {
  await ctx.w.writeSpec(id, spec(ctx, id, []))
  const first = await ctx.w.cli(['realize', id])
  assert.is(first.code, 0, first.stderr)
  const at = join(ctx.w.home(id), 'models', ctx.models[key]!.path)
  await mkdir(dirname(at), { recursive: true })
  await writeFile(at, bytes)
  await ctx.w.writeSpec(id, spec(ctx, id, [entry(ctx, key)]))
  return at
}

M('a file with the pinned sha256 at a model path is taken into the store without a download, offline too', async ctx => {
  const { w, srv } = ctx
  const found = ctx.models.found!
  const at = await userFileAtModelPath(ctx, 'found', 'found', found.bytes)

  const r = await w.cli(['realize', 'found', '--offline', '--json'])
  assert.is(r.code, 0, r.stderr)
  const report = r.json<Report>()
  assert.match(task(report, `fetch-model:${found.path}`).note ?? '', `taken from models/${found.path}`)
  assert.is(task(report, 'link').status, 'ran')
  assert.is(gets(srv, found.route).length, 0, 'nothing downloaded')
  assert.is(readlinkSync(at), blobOf(w.cache, found.sha256))
  assert.equal(readFileSync(at), found.bytes)
  assert.equal(filesUnder(join(w.cache, 'models', 'incomplete')), [], 'no temporary file left')
  const again = await w.cli(['realize', 'found', '--offline', '--json'])
  assert.ok(again.json<Report>().tasks.every(t => t.status === 'skipped'), again.stdout)
})

M('a file of the pinned size but another sha256 at a model path is not taken: offline fails, online it is kept and named', async ctx => {
  const { w, srv } = ctx
  const clash = ctx.models.clash!
  const mine = Buffer.from(clash.bytes)
  mine[0] = mine[0]! ^ 0xff
  const at = await userFileAtModelPath(ctx, 'clash', 'clash', mine)

  const offline = await w.cli(['realize', 'clash', '--offline', '--json'])
  assert.is(offline.code, 1, offline.stderr)
  assert.match(task(offline.json<Report>(), `fetch-model:${clash.path}`).error ?? '', /not in the model store and offline mode is on/)
  assert.equal(readFileSync(at), mine, 'kept')
  assert.not.ok(existsSync(blobOf(w.cache, sha(mine))), 'not put into the store')

  const online = await w.cli(['realize', 'clash', '--json'])
  assert.is(online.code, 1, online.stderr)
  assert.is(gets(srv, clash.route).length, 1)
  const link = task(online.json<Report>(), 'link')
  assert.is(link.status, 'failed')
  assert.match(link.details![0]!, new RegExp(`^models/${clash.path} is a file the tool did not create and its sha256 ${sha(mine)} is not the pinned`))
  assert.equal(readFileSync(at), mine, 'still kept')
})

M.run()
