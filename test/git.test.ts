import { suite } from 'uvu'
import { hostId } from '../lib/util/host-id.ts'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Result } from '../lib/result.ts'
import {
  checkoutAt, ensureCommit, localModifications, mirrorDir, normalizeRepoUrl, readHead, resolveRef,
  withoutCredentials, PENDING_NOTE, type GitProblem,
} from '../lib/git/index.ts'
import { addCommit, git, makeRepo, type FileMap, type TestRepo } from './helpers/git-repos.ts'
import { lookupInFiles } from '../lib/git/resolve-ref.ts'
import { progressText, withoutProgress } from '../lib/git/remote-git.ts'
import { makeGitShim, type GitShim } from './helpers/git-shim.ts'
import { guarded } from './helpers/hooks.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
let tmp = ''
let n = 0
/** A fresh folder per test. */
const fresh = (name: string): string => { const d = join(tmp, `${++n}-${name}`); mkdirSync(d, { recursive: true }); return d }

function value<T>(r: Result<T, GitProblem>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.reason}: ${r.error.message}`)
  return r.value
}
function problem<T>(r: Result<T, GitProblem>): GitProblem {
  if (r.ok) throw new Error(`expected a problem, got ${JSON.stringify(r.value)}`)
  return r.error
}

/** The environment of the run the adapter's git processes belong to: lib/ reads none of its own, each call names it. */
const ENV: Readonly<Record<string, string | undefined>> = { ...process.env }
/** ENV with a shim first in PATH: only the git processes started with it are counted. */
const shimmed = (shim: GitShim) => ({ ...ENV, PATH: `${shim.binDir}:${ENV.PATH}` })

/** A repository and a cache, the common start of most tests. */
async function world(name: string, commits: FileMap[] = [{ 'a.txt': 'one\n' }, { 'a.txt': 'two\n', 'b.txt': 'bee\n' }],
  opts: Parameters<typeof makeRepo>[3] = {}) {
  const dir = fresh(name)
  const repo = await makeRepo(dir, 'Repo', commits, opts)
  return { dir, repo, cacheRoot: join(dir, 'cache') }
}

async function checkout(cacheRoot: string, repo: TestRepo, commit: string, dir: string, force = false) {
  const { mirror } = value(await ensureCommit({ cacheRoot, url: repo.url, commit, offline: false, env: ENV }))
  return checkoutAt({ mirror, url: repo.url, commit, dir, force, env: ENV })
}

const G = suite('git adapter')
G.before(guarded(() => { tmp = mkdtempSync(join(tmpdir(), 'comfy-vc-git-')) }))
G.after(guarded(() => { rmSync(tmp, { recursive: true, force: true }) }))

G('normalizeRepoUrl: one key per repository, never a credential', () => {
  const key = 'https://github.com/Owner/Repo'
  for (const u of ['https://github.com/Owner/Repo', 'HTTPS://GitHub.com/Owner/Repo.git', 'https://github.com/Owner/Repo/',
    'https://user:tok3n@github.com/Owner/Repo.git', 'https://github.com:443/Owner/Repo']) assert.is(normalizeRepoUrl(u), key, u)
  assert.is(normalizeRepoUrl('git@github.com:Owner/Repo.git'), 'ssh://github.com/Owner/Repo')
  assert.is(normalizeRepoUrl('ssh://git@GitHub.com/Owner/Repo'), 'ssh://github.com/Owner/Repo')
  assert.is(normalizeRepoUrl('ssh://git@github.com:22/Owner/Repo.git/'), 'ssh://github.com/Owner/Repo')
  assert.is(normalizeRepoUrl('file:///srv/repos/x.git'), 'file:///srv/repos/x')
  assert.is.not(normalizeRepoUrl('https://github.com/Owner/Repo'), normalizeRepoUrl('https://github.com/Owner/Other'))
  assert.not.match(normalizeRepoUrl('https://x:secret@host/a?token=secret'), 'secret')
  assert.is(withoutCredentials('https://user:secret@host/a/b.git'), 'https://host/a/b.git')
  assert.is(withoutCredentials('https://ghp_token@host/a'), 'https://host/a')
  assert.is(withoutCredentials('ssh://git:pw@host/a'), 'ssh://git@host/a')
  assert.is(withoutCredentials('git@host:a/b'), 'git@host:a/b')
  const m = mirrorDir('/c', 'https://github.com/comfyanonymous/ComfyUI.git')
  assert.match(m, /^\/c\/git\/comfyanonymous-ComfyUI-[0-9a-f]{12}\.git$/)
  assert.is(mirrorDir('/c', 'https://u:p@GITHUB.com/comfyanonymous/ComfyUI/'), m)
})

/** Three commits on `trunk`, a branch `feature/x` at the first, tag v1 (first) and annotated tag v2 (second). */
async function refsWorld(name: string, offline: boolean) {
  const { repo, cacheRoot } = await world(name, [{ a: '1' }, { a: '2' }, { a: '3' }],
    { branch: 'trunk', tags: { v1: 0 }, annotatedTags: { v2: 1 } })
  git(repo.dir, ['branch', 'feature/x', repo.commits[0]!])
  const [c0, c1, c2] = repo.commits as [string, string, string]
  const resolve = async (ref: string | undefined, env = ENV) =>
    value(await resolveRef({ cacheRoot, url: repo.url, ref, offline, refresh: false, env })).commit
  return { repo, cacheRoot, c0, c1, c2, resolve }
}

G('resolveRef: branch, lightweight and annotated tag, short and full sha, default branch', async () => {
  const { c0, c1, c2, resolve } = await refsWorld('resolve', false)
  assert.is(await resolve('trunk'), c2)
  assert.is(await resolve('feature/x'), c0)
  assert.is(await resolve('v1'), c0)
  assert.is(await resolve('v2'), c1, 'an annotated tag is peeled to its commit')
  assert.is(await resolve(c1.slice(0, 8)), c1)
  assert.is(await resolve(c1), c1)
  assert.is(await resolve(c1.toUpperCase()), c1)
  assert.is(await resolve(undefined), c2, 'no ref: the remote default branch')
  assert.is(await resolve('refs/tags/v2'), c1)
})

G('resolveRef reads branches, tags and HEAD from the mirror\'s files (no git process); a loose annotated tag is left to git', async () => {
  const { repo, cacheRoot, c0, c1, c2, resolve } = await refsWorld('refs-in-files', true)
  value(await resolveRef({ cacheRoot, url: repo.url, ref: 'trunk', offline: false, refresh: false, env: ENV }))
  const mirror = mirrorDir(cacheRoot, repo.url)
  // As fetched, refs are loose files: branches and HEAD are read from them; a loose tag may be a tag object.
  // Once packed (git gc), packed-refs gives every tag peeled.
  const branches: [string | undefined, string][] = [['trunk', c2], ['feature/x', c0], [undefined, c2], ['refs/heads/trunk', c2]]
  const tags: [string, string][] = [['v1', c0], ['v2', c1]]
  for (const packed of [false, true]) {
    if (packed) git(mirror, ['pack-refs', '--all'])
    const shim = makeGitShim(fresh('shim'))
    for (const [ref, commit] of [...branches, ...(packed ? tags : [])]) {
      assert.is(await resolve(ref, shimmed(shim)), commit, `${ref} (${packed ? 'packed' : 'loose'})`)
    }
    assert.is(shim.count(), 0, `git ran: ${shim.lines().join('; ')}`)
    for (const [ref, commit] of tags) assert.is(await resolve(ref), commit, ref)
  }
  git(mirror, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'tag', '-a', 'v3', '-m', 'annotated', c0])
  assert.is(lookupInFiles(mirror, 'v3'), undefined, 'a loose tag may be a tag object: the files cannot tell')
  assert.is(await resolve('v3'), c0, 'git peels it')
  assert.is(lookupInFiles(mirror, c1.slice(0, 8)), undefined, 'a short sha is git\'s to expand')
})

G('resolveRef: a missing ref names the ref and the URL', async () => {
  const { repo, cacheRoot } = await world('missing-ref')
  const p = problem(await resolveRef({ cacheRoot, url: repo.url, ref: 'no-such-branch', offline: false, refresh: false, env: ENV }))
  assert.is(p.reason, 'missing-ref')
  assert.match(p.message, '"no-such-branch"')
  assert.match(p.message, repo.url)
  const sha = problem(await resolveRef({ cacheRoot, url: repo.url, ref: 'f'.repeat(40), offline: false, refresh: false, env: ENV }))
  assert.is(sha.reason, 'missing-ref')
  assert.match(sha.message, 'f'.repeat(40))
})

G('ensureCommit: the mirror is made once and reused; no fetch when the commit is there', async () => {
  const { dir, repo, cacheRoot } = await world('reuse')
  const shim = makeGitShim(dir)
  const env = shimmed(shim)
  {
    const first = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env }))
    assert.ok(first.fetched)
    assert.is(first.mirror, mirrorDir(cacheRoot, repo.url))
    assert.is(git(first.mirror, ['rev-parse', '--is-bare-repository']), 'true')
    assert.is(shim.count('fetch'), 1)
    assert.is(readdirSync(join(cacheRoot, 'git')).length, 1, 'no temp folder left beside the mirror')

    shim.reset()
    const again = value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[1]!, offline: false, env }))
    assert.is(again.fetched, false)
    assert.is(shim.count(), 0, 'a pinned commit costs no git process')

    const older = value(await ensureCommit({ cacheRoot, url: `${repo.url}.git/`, commit: repo.commits[0]!, offline: false, env }))
    assert.is(older.fetched, false)
    assert.is(older.mirror, first.mirror, 'the same repository spelled differently shares the mirror')
    assert.is(shim.count('fetch'), 0)
  }
})

G('a new upstream commit is fetched only when asked for', async () => {
  const { dir, repo, cacheRoot } = await world('upstream')
  const url = repo.url
  value(await resolveRef({ cacheRoot, url, ref: 'main', offline: false, refresh: false, env: ENV }))
  const newer = await addCommit(repo, { 'a.txt': 'three\n' })
  const shim = makeGitShim(dir)
  const env = shimmed(shim)
  {
    const stale = value(await resolveRef({ cacheRoot, url, ref: 'main', offline: false, refresh: false, env }))
    assert.is(stale.commit, repo.commits[1], 'without refresh the mirror answers')
    assert.is(shim.count('fetch'), 0)
    const fresh = value(await resolveRef({ cacheRoot, url, ref: 'main', offline: false, refresh: true, env }))
    assert.is(fresh.commit, newer)
    assert.is(shim.count('fetch'), 1)
    shim.reset()
    const known = value(await resolveRef({ cacheRoot, url, ref: newer, offline: false, refresh: true, env }))
    assert.is(known.commit, newer)
    assert.is(shim.count('fetch'), 0, 'a full sha already in the mirror needs no fetch, even with refresh')
  }
  // A commit no branch holds any more is asked for by sha.
  const orphan = await addCommit(repo, { 'a.txt': 'orphan\n' })
  git(repo.dir, ['reset', '--quiet', '--hard', newer])
  const got = value(await ensureCommit({ cacheRoot, url, commit: orphan, offline: false, env: ENV }))
  assert.ok(got.fetched)
  assert.is(git(got.mirror, ['cat-file', '-t', orphan]), 'commit')
  const gone = problem(await ensureCommit({ cacheRoot, url, commit: '0123456789'.repeat(4), offline: false, env: ENV }))
  assert.is(gone.reason, 'missing-commit')
  assert.match(gone.message, '0123456789'.repeat(4))
})

G('checkoutAt: a fresh checkout borrows the mirror objects, HEAD detached, origin is the URL', async () => {
  const { dir, repo, cacheRoot } = await world('share')
  const target = join(dir, 'home', 'custom_nodes', 'Repo')
  const out = value(await checkout(cacheRoot, repo, repo.commits[1]!, target))
  assert.equal(out, { action: 'cloned' })
  const alternates = readFileSync(join(target, '.git/objects/info/alternates'), 'utf8').trim()
  assert.is(alternates, join(mirrorDir(cacheRoot, repo.url), 'objects'))
  const packs = readdirSync(join(target, '.git/objects/pack')).filter(f => f.endsWith('.pack'))
  assert.equal(packs, [], 'no pack of its own')
  assert.is(git(target, ['count-objects']).split(' ')[0], '0', 'no loose objects of its own')
  assert.is(readFileSync(join(target, '.git/HEAD'), 'utf8').trim(), repo.commits[1])
  assert.is(readHead(target), repo.commits[1])
  assert.is(readFileSync(join(target, 'b.txt'), 'utf8'), 'bee\n')
  assert.is(git(target, ['config', 'remote.origin.url']), repo.url)
  assert.equal(readdirSync(dirname(target)), ['Repo'], 'no temp sibling left')
  const same = value(await checkout(cacheRoot, repo, repo.commits[1]!, target))
  assert.equal(same, { action: 'unchanged' })
})

G('checkoutAt: moves in place; local changes block and are kept; force discards them; untracked files survive', async () => {
  const { dir, repo, cacheRoot } = await world('move')
  const [c0, c1] = repo.commits as [string, string]
  const target = join(dir, 'node')
  value(await checkout(cacheRoot, repo, c0, target))
  writeFileSync(join(target, 'notes.txt'), 'mine\n')
  assert.equal(value(await checkout(cacheRoot, repo, c1, target)), { action: 'moved', from: c0 })
  assert.is(readHead(target), c1)
  assert.is(readFileSync(join(target, 'a.txt'), 'utf8'), 'two\n')
  assert.is(readFileSync(join(target, 'notes.txt'), 'utf8'), 'mine\n', 'untracked file survives a move')

  writeFileSync(join(target, 'a.txt'), 'edited\n')
  assert.equal(value(await localModifications(target, { env: ENV })), ['a.txt'])
  const blocked = problem(await checkout(cacheRoot, repo, c0, target))
  assert.is(blocked.reason, 'local-changes')
  assert.equal(blocked.files, ['a.txt'])
  assert.match(blocked.message, 'a.txt')
  assert.match(blocked.message, '--force')
  assert.is(readFileSync(join(target, 'a.txt'), 'utf8'), 'edited\n', 'the change is kept')
  assert.is(readHead(target), c1)

  assert.equal(value(await checkout(cacheRoot, repo, c0, target, true)), { action: 'moved', from: c1 })
  assert.is(readHead(target), c0)
  assert.is(readFileSync(join(target, 'a.txt'), 'utf8'), 'one\n')
  assert.not.ok(existsSync(join(target, 'b.txt')))
  assert.is(readFileSync(join(target, 'notes.txt'), 'utf8'), 'mine\n', 'force keeps untracked files')
  assert.equal(value(await localModifications(target, { env: ENV })), [])

  // An untracked file where the target commit has one: the move is refused, the file kept.
  writeFileSync(join(target, 'b.txt'), 'users b\n')
  const inTheWay = problem(await checkout(cacheRoot, repo, c1, target, true))
  assert.is(inTheWay.reason, 'checkout-failed')
  assert.match(inTheWay.message, 'b.txt')
  assert.is(readFileSync(join(target, 'b.txt'), 'utf8'), 'users b\n')
  assert.is(readHead(target), c0, 'a refused move leaves no pending note')
})

G('checkoutAt: an existing folder (the ComfyUI home with .comfy-vc/) becomes a checkout in place', async () => {
  const { dir, repo, cacheRoot } = await world('in-place',
    [{ 'main.py': 'print(1)\n', 'models/checkpoints/put_here': '', 'README.md': 'core\n' }, { 'main.py': 'print(2)\n' }])
  const home = join(dir, 'ComfyUI')
  mkdirSync(join(home, '.comfy-vc'), { recursive: true })
  writeFileSync(join(home, '.comfy-vc', 'state.json'), '{}')
  mkdirSync(join(home, 'models', 'checkpoints'), { recursive: true })
  writeFileSync(join(home, 'models', 'checkpoints', 'model.safetensors'), 'weights')
  writeFileSync(join(home, 'README.md'), 'core\n') // identical to the commit's: not a conflict
  writeFileSync(join(home, 'main.py'), 'users own main\n')

  const refused = problem(await checkout(cacheRoot, repo, repo.commits[1]!, home))
  assert.is(refused.reason, 'would-overwrite')
  assert.equal(refused.files, ['main.py'])
  assert.not.ok(existsSync(join(home, '.git')), 'nothing changed')
  assert.equal(readdirSync(home).sort(), ['.comfy-vc', 'README.md', 'main.py', 'models'])

  rmSync(join(home, 'main.py'))
  assert.equal(value(await checkout(cacheRoot, repo, repo.commits[1]!, home)), { action: 'cloned' })
  assert.is(readHead(home), repo.commits[1])
  assert.is(readFileSync(join(home, 'main.py'), 'utf8'), 'print(2)\n')
  assert.is(readFileSync(join(home, '.comfy-vc', 'state.json'), 'utf8'), '{}')
  assert.is(readFileSync(join(home, 'models', 'checkpoints', 'model.safetensors'), 'utf8'), 'weights')
  assert.equal(value(await localModifications(home, { env: ENV })), [])
  assert.not.ok(readdirSync(home).some(f => f.includes('comfy-vc-clone')), 'no temp folder left')

  const forced = join(dir, 'Forced')
  mkdirSync(forced)
  writeFileSync(join(forced, 'main.py'), 'users own main\n')
  value(await checkout(cacheRoot, repo, repo.commits[0]!, forced, true))
  assert.is(readFileSync(join(forced, 'main.py'), 'utf8'), 'print(1)\n')
})

G('an interrupted in-place checkout is finished by the next call', async () => {
  const { dir, repo, cacheRoot } = await world('interrupted')
  const [c0, c1] = repo.commits as [string, string]
  const { mirror } = value(await ensureCommit({ cacheRoot, url: repo.url, commit: c1, offline: false, env: ENV }))
  // The state a SIGKILL leaves mid-checkout: .git moved in with its pending note, some files
  // written, index.lock held by the dead git, and a temp clone folder of a dead process.
  const home = join(dir, 'home')
  mkdirSync(join(home, '.comfy-vc'), { recursive: true })
  const scratch = join(dir, 'scratch')
  git(dir, ['clone', '--quiet', '--shared', '--no-checkout', mirror, scratch])
  writeFileSync(join(scratch, '.git', PENDING_NOTE), `${c1}\n`)
  renameSync(join(scratch, '.git'), join(home, '.git'))
  writeFileSync(join(home, 'a.txt'), 'tw')
  writeFileSync(join(home, '.git', 'index.lock'), '')
  const deadPid = await exitedPid()
  // Named as this host's runs name theirs (`<pid>@<host id>-<hex>`): another host's would be left alone.
  const leftover = join(home, `.comfy-vc-clone-${deadPid}@${hostId()}-0badc0de`)
  mkdirSync(join(leftover, '.git'), { recursive: true })
  assert.is(readHead(home), undefined, 'a pending note means "not done"')

  assert.equal(value(await checkoutAt({ mirror, url: repo.url, commit: c1, dir: home, force: false, env: ENV })).action, 'moved')
  assert.is(readHead(home), c1)
  assert.is(readFileSync(join(home, 'a.txt'), 'utf8'), 'two\n')
  assert.not.ok(existsSync(join(home, '.git', PENDING_NOTE)))
  assert.not.ok(existsSync(leftover), 'the dead process temp folder is gone')
  assert.equal(value(await localModifications(home, { env: ENV })), [])

  // Same for a fresh clone killed before its rename: the hidden temp sibling goes away.
  const node = join(dir, 'custom_nodes', 'Node')
  const sibling = join(dir, 'custom_nodes', `.Node.comfy-vc-clone-${deadPid}@${hostId()}-0badc0de`)
  mkdirSync(sibling, { recursive: true })
  value(await checkoutAt({ mirror, url: repo.url, commit: c0, dir: node, force: false, env: ENV }))
  assert.equal(readdirSync(join(dir, 'custom_nodes')), ['Node'])
  assert.is(readHead(node), c0)
})

G('a realize killed (SIGKILL) in the middle of a clone, then re-run, ends with a sound mirror and checkout', async () => {
  const { dir, repo, cacheRoot } = await world('sigkill')
  const shim = makeGitShim(dir, { hangOn: 'fetch' })
  const child = runChild(['ensure', cacheRoot, repo.url, repo.commits[1]!], `${shim.binDir}:${process.env.PATH}`, true)
  await waitFor(() => shim.count('fetch') > 0)
  process.kill(-child.pid, 'SIGKILL')
  await child.done
  assert.ok(existsSync(join(cacheRoot, 'locks')) && readdirSync(join(cacheRoot, 'locks')).length === 1, 'the dead run holds the lock')
  assert.not.ok(existsSync(mirrorDir(cacheRoot, repo.url)), 'no half-made mirror at the final path')

  const target = join(dir, 'node')
  value(await checkout(cacheRoot, repo, repo.commits[1]!, target))
  assert.is(readHead(target), repo.commits[1])
  assert.equal(readdirSync(join(cacheRoot, 'git')), [basename(mirrorDir(cacheRoot, repo.url))], 'temp mirror removed')
  assert.equal(readdirSync(join(cacheRoot, 'locks')), [], 'lock released')
})

G('aborting the signal kills git and leaves no mirror behind', async () => {
  const { dir, repo, cacheRoot } = await world('abort')
  const shim = makeGitShim(dir, { hangOn: 'fetch' })
  const ac = new AbortController()
  const pending = ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[0]!, offline: false, env: shimmed(shim), signal: ac.signal })
  await waitFor(() => shim.count('fetch') > 0)
  ac.abort()
  const p = problem(await pending)
  assert.is(p.reason, 'cancelled')
  assert.equal(readdirSync(join(cacheRoot, 'git')), [], 'the temp mirror is removed')
  assert.equal(readdirSync(join(cacheRoot, 'locks')), [], 'the lock is released')
})

G('offline: a warm mirror works; a cold one names what is missing', async () => {
  const { repo, cacheRoot } = await world('offline')
  const url = repo.url
  const cold = problem(await ensureCommit({ cacheRoot, url, commit: repo.commits[0]!, offline: true, env: ENV }))
  assert.is(cold.reason, 'offline-missing')
  assert.match(cold.message, url)
  assert.match(cold.message, '--offline')
  assert.not.ok(existsSync(mirrorDir(cacheRoot, url)), 'offline creates nothing')
  assert.is(problem(await resolveRef({ cacheRoot, url, ref: 'main', offline: true, refresh: true, env: ENV })).reason, 'offline-missing')

  value(await ensureCommit({ cacheRoot, url, commit: repo.commits[0]!, offline: false, env: ENV }))
  const newer = await addCommit(repo, { 'c.txt': 'sea\n' })
  assert.is(value(await ensureCommit({ cacheRoot, url, commit: repo.commits[1]!, offline: true, env: ENV })).fetched, false)
  assert.is(value(await resolveRef({ cacheRoot, url, ref: 'main', offline: true, refresh: true, env: ENV })).commit, repo.commits[1])
  const missing = problem(await ensureCommit({ cacheRoot, url, commit: newer, offline: true, env: ENV }))
  assert.is(missing.reason, 'offline-missing')
  assert.match(missing.message, newer)
  assert.match(missing.message, url)
  const ref = problem(await resolveRef({ cacheRoot, url, ref: 'nope', offline: true, refresh: false, env: ENV }))
  assert.match(ref.message, '"nope"')
})

G('two processes ensuring the same commit at once both succeed, with one fetch', async () => {
  const { dir, repo, cacheRoot } = await world('concurrent')
  const shim = makeGitShim(dir)
  const path = `${shim.binDir}:${process.env.PATH}`
  const [a, b] = await Promise.all([0, 1].map(() =>
    runChild(['ensure', cacheRoot, repo.url, repo.commits[1]!], path).done))
  for (const r of [a!, b!]) {
    assert.is(r.code, 0, r.stderr)
    assert.ok((JSON.parse(r.stdout) as Result<unknown, GitProblem>).ok, r.stdout)
  }
  assert.is(shim.count('init'), 1, 'one mirror made')
  assert.is(shim.count('fetch'), 1, 'the second process found the commit after waiting for the lock')
  assert.is(git(mirrorDir(cacheRoot, repo.url), ['cat-file', '-t', repo.commits[1]!]), 'commit')
})

G('credentials in the URL are used, never stored, and redacted from errors; git never prompts', async () => {
  const { dir, repo, cacheRoot } = await world('auth')
  const bare = join(dir, 'served', 'repo.git')
  git(dir, ['clone', '--quiet', '--bare', repo.dir, bare])
  git(bare, ['update-server-info'])
  const server = await serveDumbHttp(dirname(bare), 'user:s3cretpass')
  try {
    const port = (server.address() as { port: number }).port
    const good = `http://user:s3cretpass@127.0.0.1:${port}/repo.git`
    const got = value(await resolveRef({ cacheRoot, url: good, ref: 'main', offline: false, refresh: false, env: ENV }))
    assert.is(got.commit, repo.commits[1])
    const target = join(dir, 'node')
    value(await checkoutAt({ mirror: got.mirror, url: good, commit: got.commit, dir: target, force: false, env: ENV }))
    assert.is(git(target, ['config', 'remote.origin.url']), `http://127.0.0.1:${port}/repo.git`)
    for (const d of [got.mirror, join(target, '.git')]) assert.not.ok(grepTree(d, 's3cretpass'), `no credential stored under ${d}`)

    const bad = `http://user:wrongsecret@127.0.0.1:${port}/repo.git`
    const denied = problem(await resolveRef({ cacheRoot, url: bad, ref: 'main', offline: false, refresh: true, env: ENV }))
    assert.is(denied.reason, 'fetch-failed')
    assert.match(denied.message, `127.0.0.1:${port}`)
    assert.not.match(denied.message, 'wrongsecret')
    const anonymous = problem(await resolveRef({ cacheRoot: join(dir, 'c2'), url: `http://127.0.0.1:${port}/repo.git`, ref: 'main', offline: false, refresh: false, env: ENV }))
    assert.is(anonymous.reason, 'fetch-failed', 'fails instead of asking for a password')
  } finally {
    server.close()
  }
})

G('every git process gets the environment of its run, not the process\'s', async () => {
  const { dir, repo, cacheRoot } = await world('run-env')
  // A URL only the run's own global git config can resolve: the fetches and ls-remote fail without it.
  const url = 'runenv://only-in-the-run/Repo'
  const config = join(dir, 'run-gitconfig')
  writeFileSync(config, `[url "${repo.url}"]\n\tinsteadOf = ${url}\n`)
  const shim = makeGitShim(dir, { recordEnv: 'COMFY_VC_TEST_RUN' })
  // EDITOR and PAGER as npm and shells set them: simple-git's guards refuse them unless told otherwise.
  const env = { ...shimmed(shim), GIT_CONFIG_GLOBAL: config, COMFY_VC_TEST_RUN: 'the-run', EDITOR: 'vi', PAGER: 'less' }
  assert.is(process.env.COMFY_VC_TEST_RUN, undefined)
  assert.is.not(process.env.GIT_CONFIG_GLOBAL, config)

  const got = value(await resolveRef({ cacheRoot, url, ref: undefined, offline: false, refresh: false, env }))
  assert.is(got.commit, repo.commits[1])
  const orphan = await addCommit(repo, { 'a.txt': 'orphan\n' })
  git(repo.dir, ['reset', '--quiet', '--hard', repo.commits[1]!])
  assert.ok(value(await ensureCommit({ cacheRoot, url, commit: orphan, offline: false, env })).fetched)
  const target = join(dir, 'node')
  value(await checkoutAt({ mirror: got.mirror, url, commit: orphan, dir: target, force: false, env }))
  assert.is(readHead(target), orphan)
  assert.equal(value(await localModifications(target, { env })), [])

  const lines = shim.lines()
  for (const command of ['init', 'fetch', 'ls-remote', 'cat-file', 'update-ref', 'clone', 'checkout', 'status']) {
    assert.ok(lines.some(l => l.split(' ').includes(command)), `git ${command} was started with the run's PATH`)
  }
  assert.equal(lines.filter(l => !l.startsWith('COMFY_VC_TEST_RUN=the-run ')), [], 'every git had the run\'s variables')
  const without = problem(await resolveRef({ cacheRoot: join(dir, 'c2'), url, ref: undefined, offline: false, refresh: false, env: ENV }))
  assert.is(without.reason, 'fetch-failed', 'the same call with the process\'s environment cannot resolve the URL')
})

G('a fetch tells its progress, one line at a time; a failure\'s message carries none of it', async () => {
  const { repo, cacheRoot } = await world('progress', [{ 'a.txt': 'one\n' }, { 'b.txt': 'two\n' }, { 'c.txt': 'three\n' }])
  const lines: string[] = []
  value(await ensureCommit({ cacheRoot, url: repo.url, commit: repo.commits[2]!, offline: false, env: ENV, onProgress: l => lines.push(l) }))
  assert.ok(lines.length > 0, 'progress was told')
  for (const l of lines) assert.match(l, /^fetching: [a-z :]+ \d+% \(\d+\/\d+\)$/)
  assert.is(progressText({ stage: 'receiving', progress: 45, processed: 120, total: 266 }), 'fetching: receiving objects 45% (120/266)')
  const stderr = [
    'remote: Enumerating objects: 5, done.', 'remote: Counting objects:  20% (1/5)\rremote: Counting objects: 100% (5/5), done.',
    'remote: Total 5 (delta 0), reused 0 (delta 0), pack-reused 0', 'Receiving objects:  40% (2/5)\rReceiving objects: 100% (5/5), 1.20 KiB | 1.20 MiB/s, done.',
    'From https://host/repo', ' * [new branch]      main       -> main', 'remote: Repository not found.', 'fatal: repository \'https://host/repo/\' not found', '',
  ].join('\n')
  assert.is(withoutProgress(stderr), 'remote: Repository not found.\nfatal: repository \'https://host/repo/\' not found\n')
})

G('readHead: files only; undefined for a non-checkout or a pending note', async () => {
  const { dir, repo, cacheRoot } = await world('read-head')
  assert.is(readHead(join(dir, 'nothing')), undefined)
  assert.is(readHead(repo.dir), undefined, 'HEAD on a branch is not a pinned checkout')
  const target = join(dir, 'node')
  value(await checkout(cacheRoot, repo, repo.commits[0]!, target))
  // readHead takes no environment, so it can start no git; the shim on the process's PATH would see one started anyway.
  const shim = makeGitShim(dir)
  const saved = process.env.PATH
  process.env.PATH = `${shim.binDir}:${saved}`
  try { assert.is(readHead(target), repo.commits[0]) } finally { process.env.PATH = saved }
  assert.is(shim.count(), 0)
  writeFileSync(join(target, '.git', PENDING_NOTE), repo.commits[1]!)
  assert.is(readHead(target), undefined)
})

G.run()

// --- internal ---

/** Runs test/git.test.ts's child mode in a new process (group), to kill or to race it. */
function runChild(args: string[], path: string, detached = false) {
  const script = join(tmp, 'child.mts')
  if (!existsSync(script)) {
    writeFileSync(script, [
      `import { ensureCommit } from ${JSON.stringify(pathToFileURL(join(ROOT, 'lib/git/index.ts')).href)}`,
      `const [, cacheRoot, url, commit] = process.argv.slice(2)`,
      `const r = await ensureCommit({ cacheRoot: cacheRoot!, url: url!, commit: commit!, offline: false, env: process.env })`,
      `process.stdout.write(JSON.stringify(r))`,
    ].join('\n'))
  }
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args],
    { cwd: ROOT, env: { ...process.env, PATH: path }, detached, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>(resolve =>
    child.on('close', code => resolve({ code, stdout, stderr })))
  return { pid: child.pid!, done }
}

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 25))
  }
}

/** The pid of a process that has exited (for "left behind by a dead process" states). */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise(r => child.on('close', r))
  return child.pid!
}

/** A static server over `root` requiring Basic auth: git's "dumb" HTTP protocol, real fetches. */
function serveDumbHttp(root: string, credentials: string): Promise<Server> {
  const expected = `Basic ${Buffer.from(credentials).toString('base64')}`
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end()
      return
    }
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
    if (!path.startsWith(root) || !existsSync(path)) { res.writeHead(404).end(); return }
    try { res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(path)) } catch {
      res.writeHead(404).end()
    }
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** Whether any file under `dir` contains `text`. */
function grepTree(dir: string, text: string): boolean {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory() ? grepTree(p, text) : e.isFile() && readFileSync(p).includes(text)) return true
  }
  return false
}
