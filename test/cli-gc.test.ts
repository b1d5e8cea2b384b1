/**
 * `gc` through the real CLI: a cache filled by real mirrors (ensureCommit, as realize fills it), a realized home,
 * model blobs, partial downloads and compiled locks; what no spec and no recorded home uses goes, with its size.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { ensureCommit, mirrorDir } from '../lib/git/index.ts'
import { urlKey } from '../lib/fetch/url-key.ts'
import { cacheLayout } from '../lib/layout/cache.ts'
import { acquireLock } from '../lib/util/lock.ts'
import { guarded } from './helpers/hooks.ts'
import { du } from './helpers/disk-usage.ts'

interface Ctx { repos: string; core: TestRepo; a: TestRepo; b: TestRepo; w: World }
const G = suite<Ctx>('cli: gc')

type GcDoc = { removed: { path: string; kind: string; bytes: number }[]; bytes: number; dry_run: boolean }

const spec = (ctx: Ctx, id: string, nodes: TestRepo[], models: unknown[] = []) => ({
  schema_version: 2, id,
  comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
  custom_nodes: nodes.map(r => ({ repo: r.url, ref: 'main', commit: r.commits[0] })),
  models,
})

const models = (w: World) => join(w.cache, 'models')

/** A blob in the model store, as fetch-model leaves one; returns its path and sha256. */
function blob(w: World, content: string): { sha: string; path: string } {
  const sha = createHash('sha256').update(content).digest('hex')
  const path = join(models(w), 'sha256', sha.slice(0, 2), sha)
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, content)
  return { sha, path }
}

/** A partial download of `url` and its sidecar, as an interrupted fetch leaves them. */
function partial(w: World, url: string, bytes: number): string {
  const path = join(models(w), 'incomplete', urlKey(url))
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, Buffer.alloc(bytes, 1))
  writeFileSync(`${path}.json`, JSON.stringify({ url }))
  return path
}

async function mirror(w: World, repo: TestRepo): Promise<string> {
  const r = await ensureCommit({ cacheRoot: w.cache, url: repo.url, commit: repo.commits[0]!, offline: false, env: process.env })
  if (!r.ok) throw new Error(r.error.message)
  return r.value.mirror
}

G.before(guarded(async ctx => {
  const repos = ctx.repos = await mkdtemp(join(tmpdir(), 'comfy-vc-gc-repos-'))
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }])
  ctx.b = await makeRepo(repos, 'NodeB', [{ '__init__.py': 'b = 1\n' }])
}))
G.before.each(guarded(async ctx => { ctx.w = await makeWorld() }))
G.after.each(guarded(async ctx => { await ctx.w.cleanup() }))
G.after(guarded(async ctx => { await rm(ctx.repos, { recursive: true, force: true }) }))

G('--help, and a bad --older-than is a usage error (exit 2, no stack)', async ctx => {
  const help = await ctx.w.cli(['gc', '--help'])
  assert.is(help.code, 0)
  assert.match(help.stdout, 'Usage: npx tsx tasks gc [--dry-run] [--older-than DAYS]')
  const bad = await ctx.w.cli(['gc', '--older-than', 'soon'])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, '--older-than takes a whole number')
  assert.not.match(bad.stderr, /\n\s+at /)
  const main = await ctx.w.cli(['--help'])
  assert.match(main.stdout, /\bgc\b/)
})

G('removes what no spec references: mirrors, blobs, partials, compiled locks; --dry-run lists and sizes, removes nothing', async ctx => {
  const { w } = ctx
  const url = 'http://127.0.0.1:9/m.safetensors'
  const kept = blob(w, 'the model v1 names')
  const dropped = blob(w, 'a model nothing names any more')
  await w.writeSpec('v1', spec(ctx, 'v1', [ctx.a], [{ url, path: 'checkpoints/m.safetensors', sha256: kept.sha }]))
  const [core, a, b] = [await mirror(w, ctx.core), await mirror(w, ctx.a), await mirror(w, ctx.b)]
  const resumable = partial(w, url, 100)
  const stale = partial(w, 'http://127.0.0.1:9/gone.bin', 300)
  const orphanLock = join(w.cache, 'compiled', 'f'.repeat(64) + '.txt')
  mkdirSync(join(orphanLock, '..'), { recursive: true })
  writeFileSync(orphanLock, 'demo-numpy==1.5\n')
  const expected = [
    { path: b, kind: 'mirror', bytes: du(b) },
    { path: dropped.path, kind: 'model-blob', bytes: statSync(dropped.path).size },
    { path: stale, kind: 'partial-download', bytes: 300 + statSync(`${stale}.json`).size },
    { path: orphanLock, kind: 'compiled-lock', bytes: statSync(orphanLock).size },
  ].sort((x, y) => x.path.localeCompare(y.path))
  const sorted = (d: GcDoc) => [...d.removed].sort((x, y) => x.path.localeCompare(y.path))

  const dry = await w.cli(['gc', '--dry-run', '--json'])
  assert.is(dry.code, 0, dry.stderr)
  const dryDoc = dry.json<GcDoc>()
  assert.equal(Object.keys(dryDoc).sort(), ['bytes', 'dry_run', 'removed'])
  assert.is(dryDoc.dry_run, true)
  assert.equal(sorted(dryDoc), expected)
  assert.is(dryDoc.bytes, expected.reduce((n, e) => n + e.bytes, 0))
  for (const e of expected) assert.ok(existsSync(e.path), `dry run kept ${e.path}`)

  const human = await w.cli(['gc', '--dry-run'])
  assert.match(human.stdout, /would remove .*mirror .*NodeB/)
  assert.match(human.stdout, /would free .* in 4 objects \(dry run: nothing was removed\)/)

  const real = await w.cli(['gc', '--json'])
  assert.is(real.code, 0, real.stderr)
  const doc = real.json<GcDoc>()
  assert.is(doc.dry_run, false)
  assert.equal(sorted(doc), expected)
  for (const e of expected) assert.not.ok(existsSync(e.path), `removed ${e.path}`)
  assert.not.ok(existsSync(`${stale}.json`), 'the partial\'s sidecar went with it')
  for (const p of [core, a, kept.path, resumable]) assert.ok(existsSync(p), `kept ${p}`)

  const again = await w.cli(['gc'])
  assert.is(again.code, 0)
  assert.match(again.stdout, 'nothing to remove')
})

G('a model a spec names without a sha256 keeps the blob the store\'s URL index gives for it', async ctx => {
  const { w } = ctx
  const url = 'http://127.0.0.1:9/unpinned.safetensors'
  const b = blob(w, 'fetched once, never pinned')
  const index = join(models(w), 'index', 'url', `${urlKey(url)}.json`)
  mkdirSync(join(index, '..'), { recursive: true })
  writeFileSync(index, JSON.stringify({ url, sha256: b.sha, size: 26, recorded_at: new Date().toISOString() }))
  await w.writeSpec('loose', spec(ctx, 'loose', [], [{ url, path: 'checkpoints/u.safetensors' }]))
  const r = await w.cli(['gc', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.equal(r.json<GcDoc>().removed.filter(o => o.kind === 'model-blob'), [])
  assert.ok(existsSync(b.path))
})

G('--older-than keeps what was made recently', async ctx => {
  const { w } = ctx
  const fresh = blob(w, 'just fetched')
  const kept = await w.cli(['gc', '--older-than', '1', '--json'])
  assert.equal(kept.json<GcDoc>().removed, [])
  assert.ok(existsSync(fresh.path))
  const all = await w.cli(['gc', '--older-than', '0', '--json'])
  assert.equal(all.json<GcDoc>().removed.map(r => r.path), [fresh.path])
})

G('a realized home keeps what it uses after its spec is gone; a home that no longer exists is forgotten', async ctx => {
  const { w } = ctx
  await w.writeSpec('solo', spec(ctx, 'solo', [ctx.a]))
  const r = await w.cli(['realize', 'solo', '--json'])
  assert.is(r.code, 0, r.stderr)
  rmSync(join(w.versions, 'solo.json'))
  const coreMirror = mirrorDir(w.cache, ctx.core.url)
  const kept = await w.cli(['gc', '--json'])
  assert.is(kept.code, 0, kept.stderr)
  assert.equal(kept.json<GcDoc>().removed.filter(o => o.kind === 'mirror'), [], 'the home\'s checkouts keep their mirrors')
  assert.ok(existsSync(coreMirror))

  rmSync(w.home('solo'), { recursive: true, force: true })
  const gone = await w.cli(['gc'])
  assert.is(gone.code, 0, gone.stderr)
  assert.match(gone.stdout, `forgot ${w.home('solo')} (it no longer exists)`)
  assert.not.ok(existsSync(coreMirror), 'its mirrors went with it')
  assert.not.ok(existsSync(mirrorDir(w.cache, ctx.a.url)))
  assert.equal(readdirSync(cacheLayout(w.cache).homes), [])
})

G('a shared Python environment stays while a recorded home links to it, and goes with the home', async ctx => {
  const { w } = ctx
  await w.writeSpec('py', { ...spec(ctx, 'py', [ctx.a]), python: { find_links: [ctx.repos] } })
  const r = await w.cli(['realize', 'py'])
  assert.is(r.code, 0, r.stderr)
  const envs = cacheLayout(w.cache).envs
  const linked = realpathSync(join(w.home('py'), '.venv'))
  assert.is(dirname(linked), realpathSync(envs), 'the home\'s .venv is a shared environment')
  const kept = await w.cli(['gc', '--json'])
  // The empty environment a new home starts from is no home's: it goes, and the next new home makes it again.
  assert.not.ok(kept.json<GcDoc>().removed.some(o => o.path === linked))
  assert.ok(existsSync(join(linked, 'pyvenv.cfg')))
  const made = readdirSync(envs)

  rmSync(w.home('py'), { recursive: true, force: true })
  const gone = await w.cli(['gc', '--json'])
  assert.is(gone.code, 0, gone.stderr)
  const removed = gone.json<GcDoc>().removed.filter(o => o.kind === 'shared-env')
  assert.equal(removed.map(o => o.path).sort(), made.map(m => join(envs, m)).sort())
  assert.ok(removed.every(o => o.bytes > 0))
  assert.equal(readdirSync(envs), [])
})

G('a pinned model\'s partial download (kept by its sha256) stays; one of a sha256 no spec names goes', async ctx => {
  const { w } = ctx
  const sha = createHash('sha256').update('wanted').digest('hex')
  const other = createHash('sha256').update('unwanted').digest('hex')
  await w.writeSpec('m', spec(ctx, 'm', [], [{ path: 'checkpoints/m.safetensors', url: 'https://example.test/a?sig=1', sha256: sha }]))
  const dir = join(models(w), 'incomplete')
  mkdirSync(dir, { recursive: true })
  for (const s of [sha, other]) { writeFileSync(join(dir, `sha256-${s}`), Buffer.alloc(1000, 1)); writeFileSync(join(dir, `sha256-${s}.json`), '{}') }
  const r = await w.cli(['gc', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.equal(r.json<GcDoc>().removed.filter(o => o.kind === 'partial-download').map(o => o.path), [join(dir, `sha256-${other}`)])
  assert.ok(existsSync(join(dir, `sha256-${sha}`)), 'resumable under any URL the spec gives next')
})

G('gc waits for a realize holding its home\'s lock, then finishes', async ctx => {
  const { w } = ctx
  await w.writeSpec('busy', spec(ctx, 'busy', []))
  const r = await w.cli(['realize', 'busy'])
  assert.is(r.code, 0, r.stderr)
  rmSync(join(w.versions, 'busy.json'))
  // What a running realize holds.
  const release = await acquireLock(cacheLayout(w.cache).homeLock(w.home('busy')))
  const child = w.spawn(['gc', '--json'])
  let stderr = ''
  const waited = new Promise<void>(resolve => child.stderr!.setEncoding('utf8').on('data', d => { stderr += d; if (stderr.includes('waiting for the realize of')) resolve() }))
  let stdout = ''
  child.stdout!.setEncoding('utf8').on('data', d => { stdout += d })
  const ended = new Promise<number | null>(resolve => child.on('close', resolve))
  await waited
  assert.ok(existsSync(mirrorDir(w.cache, ctx.core.url)), 'nothing removed while it waits')
  await release()
  assert.is(await ended, 0, stderr)
  assert.equal((JSON.parse(stdout) as GcDoc).removed.filter(o => o.kind === 'mirror'), [])
})

G.run()
