import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Result } from '../lib/result.ts'
import { checkoutAt, ensureCommit, mirrorDir, resolveRef, type GitProblem } from '../lib/git/index.ts'
import { addCommit, git, makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { makeGitShim } from './helpers/git-shim.ts'
import { guarded } from './helpers/hooks.ts'
import { makeWorld } from './helpers/cli.ts'

let tmp = ''
let n = 0
const fresh = (name: string): string => { const d = join(tmp, `${++n}-${name}`); mkdirSync(d, { recursive: true }); return d }
const ENV: Readonly<Record<string, string | undefined>> = { ...process.env }

function value<T>(r: Result<T, GitProblem>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.reason}: ${r.error.message}`)
  return r.value
}

const BIG = 2_000_000

/**
 * A repository whose history added and removed a large file: commit 0 holds `big.bin` (random, so it does not
 * compress), commit 1 removes it. `allowFilter` is the served repository's uploadpack.allowFilter.
 */
async function heavyRepo(dir: string, allowFilter: boolean): Promise<{ repo: TestRepo; big: Buffer }> {
  const big = randomBytes(BIG)
  const repo = await makeRepo(dir, 'Heavy', [{ 'a.py': 'one\n', 'big.bin': big.toString('latin1') }])
  git(repo.dir, ['config', 'uploadpack.allowFilter', String(allowFilter)])
  await addCommit(repo, { 'a.py': 'two\n', 'big.bin': null, 'b.py': 'bee\n' })
  return { repo, big: readBack(repo, 0) }
}

/** big.bin as git stored it at commit `i` (writeFileSync of latin1 text, read back byte for byte). */
const readBack = (repo: TestRepo, i: number): Buffer =>
  execFileSync('git', ['cat-file', 'blob', `${repo.commits[i]}:big.bin`], { cwd: repo.dir, maxBuffer: 64 << 20 })

function duBytes(dir: string): number {
  let total = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    total += e.isDirectory() ? duBytes(p) : e.isFile() ? statSync(p).size : 0
  }
  return total
}

const hasObject = (mirror: string, oid: string): boolean => {
  try { execFileSync('git', ['cat-file', '-e', oid], { cwd: mirror, stdio: 'ignore', env: { ...process.env, GIT_NO_LAZY_FETCH: '1' } }); return true } catch { return false }
}

const P = suite('partial mirrors')
P.before(guarded(() => { tmp = mkdtempSync(join(tmpdir(), 'comfy-vc-partial-')) }))
P.after(guarded(() => { rmSync(tmp, { recursive: true, force: true }) }))

P('a checkout of the newest commit stores its files, not the large file history removed', async () => {
  const dir = fresh('newest')
  const { repo } = await heavyRepo(dir, true)
  const cacheRoot = join(dir, 'cache')
  const got = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env: ENV }))
  assert.is(got.wholeHistory, undefined, 'the server filtered')
  const target = join(dir, 'node')
  value(await checkoutAt({ mirror: got.mirror, url: repo.url, commit: repo.commits[1]!, dir: target, force: false, env: ENV }))
  assert.is(readFileSync(join(target, 'a.py'), 'utf8'), 'two\n')
  assert.is(readFileSync(join(target, 'b.py'), 'utf8'), 'bee\n')
  assert.is(git(target, ['status', '--porcelain']), '', 'a clean checkout')
  const bigOid = git(repo.dir, ['rev-parse', `${repo.commits[0]}:big.bin`])
  assert.not.ok(hasObject(got.mirror, bigOid), 'the removed file was not fetched')
  assert.ok(duBytes(got.mirror) < BIG / 10, `mirror holds ${duBytes(got.mirror)} bytes`)
  // History stays readable: commits and trees are all there.
  assert.is(git(target, ['log', '--format=%H']).split('\n').length, 2)
})

P('a second checkout of the same commit fetches nothing; an older commit fetches only the files it lacks', async () => {
  const dir = fresh('older')
  const { repo, big } = await heavyRepo(dir, true)
  const cacheRoot = join(dir, 'cache')
  const shim = makeGitShim(dir)
  const env = { ...ENV, PATH: `${shim.binDir}:${ENV.PATH}` }
  const first = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env }))
  assert.ok(first.fetched)
  shim.reset()
  const again = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env }))
  assert.is(again.fetched, false)
  assert.is(shim.count(), 0, 'a commit checked out before costs no git process')

  const old = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[0]!, offline: false, env }))
  assert.ok(old.fetched, 'the older tree\'s blobs were fetched')
  const target = join(dir, 'old')
  value(await checkoutAt({ mirror: old.mirror, url: repo.url, commit: repo.commits[0]!, dir: target, force: false, env: ENV }))
  assert.ok(readFileSync(join(target, 'big.bin')).equals(big), 'the large file is whole')
  assert.is(git(target, ['status', '--porcelain']), '')
  // The checkout borrows the blob from the mirror: shared, not copied.
  assert.ok(duBytes(join(target, '.git')) < BIG / 10, 'objects stay in the mirror')
})

P('offline: a commit whose files were never fetched is a clear error; once fetched, offline works', async () => {
  const dir = fresh('offline')
  const { repo } = await heavyRepo(dir, true)
  const cacheRoot = join(dir, 'cache')
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env: ENV }))
  const missing = await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[0]!, offline: true, env: ENV })
  assert.not.ok(missing.ok)
  if (missing.ok) return
  assert.is(missing.error.reason, 'offline-missing')
  assert.match(missing.error.message, /offline: \d+ files of commit [0-9a-f]{12} of .* are not in the local mirror/)
  assert.match(missing.error.message, 'run once without --offline')
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[0]!, offline: false, env: ENV }))
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[0]!, offline: true, env: ENV }))
})

P('ref resolution works on a partial mirror: branch, tag, short sha, default branch, a new commit upstream', async () => {
  const dir = fresh('refs')
  const { repo } = await heavyRepo(dir, true)
  git(repo.dir, ['tag', 'v1', repo.commits[0]!])
  const cacheRoot = join(dir, 'cache')
  const at = (ref: string | undefined, refresh = false) => resolveRef({ cacheRoot, url: repo.url, ref, offline: false, refresh, env: ENV })
  assert.is(value(await at(undefined)).commit, repo.commits[1])
  assert.is(value(await at('main')).commit, repo.commits[1])
  assert.is(value(await at('v1')).commit, repo.commits[0])
  assert.is(value(await at(repo.commits[0]!.slice(0, 8))).commit, repo.commits[0])
  const third = await addCommit(repo, { 'c.py': 'sea\n' })
  assert.is(value(await at('main', true)).commit, third)
  const mirror = mirrorDir(cacheRoot, repo.url)
  assert.is(git(mirror, ['config', 'extensions.partialClone']), 'origin')
  assert.throws(() => git(mirror, ['config', 'remote.origin.url']), 'no URL stored: a lazy fetch cannot go out')
})

P('a server that refuses filters gets today\'s full fetch, and says so', async () => {
  const dir = fresh('refused')
  const { repo } = await heavyRepo(dir, false)
  const cacheRoot = join(dir, 'cache')
  const got = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env: ENV }))
  assert.is(got.wholeHistory, true)
  const bigOid = git(repo.dir, ['rev-parse', `${repo.commits[0]}:big.bin`])
  assert.ok(hasObject(got.mirror, bigOid), 'the whole history is there')
  // An older commit then needs no fetch, even offline.
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[0]!, offline: true, env: ENV }))
})

P('a mirror made before partial clones (full, URL in its config) is converted at its next fetch', async () => {
  const dir = fresh('convert')
  const { repo } = await heavyRepo(dir, true)
  const cacheRoot = join(dir, 'cache')
  const mirror = mirrorDir(cacheRoot, repo.url)
  mkdirSync(join(mirror, '..'), { recursive: true })
  git(dir, ['init', '--bare', '--quiet', mirror])
  git(mirror, ['config', 'remote.origin.url', repo.url])
  git(mirror, ['fetch', '--quiet', repo.url, '+refs/heads/*:refs/heads/*'])
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env: ENV }))
  const third = await addCommit(repo, { 'c.py': 'sea\n' })
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: third, offline: false, env: ENV }))
  assert.throws(() => git(mirror, ['config', 'remote.origin.url']))
  assert.is(git(mirror, ['config', 'comfy-vc.url']), repo.url)
})

P('realize says once, in the clone task\'s line, that a server would not filter', async () => {
  const w = await makeWorld()
  try {
    const refusing = await makeRepo(join(w.dir, 'repos'), 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
    git(refusing.dir, ['config', 'uploadpack.allowFilter', 'false'])
    const filtering = await makeRepo(join(w.dir, 'repos'), 'NodeA', [{ '__init__.py': '' }])
    git(filtering.dir, ['config', 'uploadpack.allowFilter', 'true'])
    await w.writeSpec('v', {
      schema_version: 2, id: 'v', comfyui: { repo: refusing.url, commit: refusing.commits[0] },
      custom_nodes: [{ repo: filtering.url, commit: filtering.commits[0] }],
    })
    const r = await w.cli(['realize', 'v', '--json'])
    assert.is(r.code, 0, r.stderr)
    const notes = Object.fromEntries((r.json() as { tasks: { id: string; note?: string }[] }).tasks.map(t => [t.id, t.note ?? '']))
    assert.match(notes['clone-core']!, 'the server does not filter fetches, so the whole history was fetched')
    assert.is(notes['clone-core']!.split('whole history').length, 2, 'said once')
    assert.not.match(notes['clone-node:NodeA']!, 'whole history')
  } finally { await w.cleanup() }
})

P.run()
