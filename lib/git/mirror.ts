// Operations on a bare mirror shared by ensure-commit.ts and resolve-ref.ts. Mutations run under
// the mirror's lock (withMirrorLock); reads do not need it (git updates refs and packs atomically).
// What talks to the remote goes through runRemoteGit (simple-git, with progress); the rest through runGit.
//
// Mirrors are partial clones (`--filter=blob:none`): commits and trees of the whole history, blobs only for the
// trees a version checks out (tree-blobs.ts). The promisor remote `origin` has no URL in the mirror's config:
// each fetch is given it in its environment (never in argv or a stored file, so a credential stays unwritten), and
// a lazy fetch git would start by itself (a `cat-file -e` of an unknown sha) fails at once instead of going out.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { err, ok, type Result } from '../result.ts'
import { acquireLock } from '../util/lock.ts'
import { tempSibling } from '../util/atomic.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { mirrorLockPath } from './mirror-dir.ts'
import { withoutCredentials } from './repo-url.ts'
import { runRemoteGit, type RemoteGitOptions } from './remote-git.ts'
import { gitFailure, runGit, type GitRun } from './run-git.ts'

/** Branches and tags only: `refs/pull/*` and the like would make mirrors of busy repositories huge. */
const REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']
/** A ref per commit a version asked for, so a commit fetched by sha (or dropped upstream) survives gc. */
export const PIN_PREFIX = 'refs/comfy-vc/pins/'

export const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

export const mirrorExists = (mirror: string): boolean => existsSync(join(mirror, 'HEAD'))

/** A commit pinned earlier is there; read from files so the common case starts no process. */
export const isPinned = (mirror: string, commit: string): boolean => existsSync(join(mirror, PIN_PREFIX, commit))

/**
 * Runs `fn` holding the mirror's lock; a cancelled wait becomes a `cancelled` problem. A wait that lasts
 * (another process fetching into the mirror) is told to `onWait`.
 */
export async function withMirrorLock<T>(
  cacheRoot: string, url: string, signal: AbortSignal | undefined, onWait: ((line: string) => void) | undefined,
  fn: () => Promise<Result<T, GitProblem>>,
): Promise<Result<T, GitProblem>> {
  let release: () => Promise<void>
  try {
    release = await acquireLock(mirrorLockPath(cacheRoot, url), { signal, onWait, waitingFor: `the git mirror of ${withoutCredentials(url)}` })
  } catch (e) {
    if (signal?.aborted) return err(gitProblem({ reason: 'cancelled', doing: 'waiting for the git mirror lock' }))
    throw e
  }
  try { return await fn() } finally { await release() }
}

/** What a fetch into the mirror is run with: the run's environment and signal, and who hears its progress. */
export type FetchRun = Omit<RemoteGitOptions, 'cwd'>

/** Whether the mirror has `rev` as a commit. */
export async function hasCommit(mirror: string, rev: string, run: GitRun): Promise<Result<boolean, GitProblem>> {
  const r = await runGit(['cat-file', '-e', `${rev}^{commit}`], { ...run, cwd: mirror })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: 'reading a git mirror' }))
  if (r.spawnError) return err(gitProblem({ reason: 'git-failed', doing: 'reading a git mirror', detail: gitFailure(r) }))
  return ok(r.exitCode === 0)
}

/** Best effort: a failed pin only means the next run checks with `cat-file` again. */
export async function pin(mirror: string, commit: string, run: GitRun): Promise<void> {
  await runGit(['update-ref', `${PIN_PREFIX}${commit}`, commit], { ...run, cwd: mirror })
}

/**
 * Creates the mirror when missing (call under the lock): `git init --bare` into a temp sibling,
 * fetch, rename into place, so a killed clone never leaves a broken mirror behind; the temp
 * folders such a kill left are removed first. Returns whether it fetched.
 */
export async function ensureMirror(mirror: string, url: string, run: FetchRun): Promise<Result<boolean, GitProblem>> {
  if (mirrorExists(mirror)) return ok(false)
  await removeLeftovers(mirror)
  const tmp = tempSibling(mirror, 'tmp')
  await mkdir(dirname(mirror), { recursive: true })
  const made = await buildMirror(tmp, url, run)
  if (!made.ok) { await rm(tmp, { recursive: true, force: true }); return made }
  try {
    await rename(tmp, mirror)
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    if (!mirrorExists(mirror)) throw e
  }
  return ok(true)
}

async function buildMirror(tmp: string, url: string, run: FetchRun): Promise<Result<void, GitProblem>> {
  const init = await runGit(['init', '--bare', '--quiet', '--template=', '--', tmp], run)
  if (init.aborted) return err(gitProblem({ reason: 'cancelled', doing: `creating the mirror of ${url}` }))
  if (init.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing: `creating a mirror in ${tmp}`, detail: gitFailure(init) }))
  // fetchRefs makes it partial, and points HEAD at the remote's default branch on the way.
  return fetchRefs(tmp, url, run)
}

/** Fetches every branch and tag, pruning the ones gone upstream (pins are outside the refspecs). */
export async function fetchRefs(mirror: string, url: string, run: FetchRun): Promise<Result<void, GitProblem>> {
  const ready = await makePartial(mirror, url, run)
  if (!ready.ok) return ready
  const r = await fetchFromOrigin(mirror, url, ['--prune', ...filterArgs(mirror), 'origin', ...REFSPECS], run)
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `fetching ${url}` }))
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'fetch-failed', url, detail: gitFailure(r) }))
  return ok(undefined)
}

/** Asks the server for one commit by sha (GitHub allows it for reachable commits). Failure is not final. */
export async function fetchCommit(mirror: string, url: string, commit: string, run: FetchRun): Promise<Result<void, GitProblem>> {
  const ready = await makePartial(mirror, url, run)
  if (!ready.ok) return ready
  const r = await fetchFromOrigin(mirror, url, [...filterArgs(mirror), 'origin', `+${commit}:${PIN_PREFIX}${commit}`], run)
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `fetching ${commit} from ${url}` }))
  return ok(undefined)
}

/** The blobs (or any objects) named, into the mirror; what the server did not send is the caller's to find. */
export async function fetchObjects(mirror: string, url: string, oids: readonly string[], run: FetchRun): Promise<Result<void, GitProblem>> {
  const ready = await makePartial(mirror, url, run)
  if (!ready.ok) return ready
  // Batches keep argv well under the system's limit for trees of many thousand files.
  for (let i = 0; i < oids.length; i += 2000) {
    const r = await fetchFromOrigin(mirror, url,
      ['--no-tags', '--no-write-fetch-head', '--recurse-submodules=no', ...filterArgs(mirror), 'origin', ...oids.slice(i, i + 2000)], run)
    if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `fetching files from ${url}` }))
    if (r.exitCode !== 0) return err(gitProblem({ reason: 'fetch-failed', url, detail: gitFailure(r) }))
  }
  return ok(undefined)
}

/** Points the mirror's HEAD at the remote's default branch, which is what an omitted `ref` means. */
export async function updateHead(mirror: string, url: string, run: GitRun): Promise<Result<void, GitProblem>> {
  const head = await remoteHead(mirror, url, run)
  if (!head.ok) return head
  if (head.value.branch) await runGit(['symbolic-ref', 'HEAD', head.value.branch], { ...run, cwd: mirror })
  return ok(undefined)
}

/** Whether the server refused to filter (dumb HTTP, an old git, `uploadpack.allowFilter` off): the mirror then holds every blob. */
export const fetchesWholeHistory = (mirror: string): boolean => /^\s*wholehistory\s*=\s*true\s*$/m.test(mirrorConfig(mirror))

/** The remote's default branch, and whether it speaks git's pack protocol (dumb HTTP does not: a static file server). */
async function remoteHead(mirror: string, url: string, run: GitRun): Promise<Result<{ branch?: string; smart: boolean }, GitProblem>> {
  // Packet traces appear only for the pack protocol; they go to stderr, which is read here and dropped.
  const r = await runRemoteGit(['ls-remote', '--symref', 'origin', 'HEAD'], { ...run, env: { ...originEnv(run.env, url), GIT_TRACE_PACKET: '2' }, cwd: mirror })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `asking ${url} for its default branch` }))
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'fetch-failed', url, detail: gitFailure({ ...r, stderr: r.stderr.split('\n').filter(l => !PACKET.test(l)).join('\n') }) }))
  const branch = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(r.stdout)?.[1]
  return ok({ ...(branch ? { branch } : {}), smart: PACKET.test(r.stderr) })
}

const PACKET = /pkt-line\.c:\d+\s+packet:/
const FILTER_REFUSED = /filtering not recognized by server/

/** `git fetch` from the promisor remote, its URL (credentials included) given in the environment only. */
async function fetchFromOrigin(mirror: string, url: string, args: readonly string[], run: FetchRun) {
  const r = await runRemoteGit(['fetch', ...args], { ...run, env: originEnv(run.env, url), cwd: mirror })
  if (r.exitCode === 0 && FILTER_REFUSED.test(r.stderr)) {
    // git fell back to sending everything; later fetches ask no filter, and the task says so once.
    await runGit(['config', 'comfy-vc.wholehistory', 'true'], { ...run, cwd: mirror })
  }
  return r
}

/**
 * The run's environment with `remote.origin.url` set to the URL as the user gave it: git reads it from there, so a
 * credential in the URL is never on a command line (which every user of the host can read in /proc) nor in a file.
 */
function originEnv(base: FetchRun['env'], url: string): Record<string, string | undefined> {
  const n = Number(base.GIT_CONFIG_COUNT ?? 0) || 0
  return { ...base, GIT_CONFIG_COUNT: String(n + 1), [`GIT_CONFIG_KEY_${n}`]: 'remote.origin.url', [`GIT_CONFIG_VALUE_${n}`]: url }
}

const filterArgs = (mirror: string): string[] => fetchesWholeHistory(mirror) ? [] : ['--filter=blob:none']

/**
 * Makes the mirror a partial clone of `origin`, once (a mirror made before partial clones is converted the first
 * time it fetches): the promisor settings, no stored URL, the URL without credentials kept for people. A server
 * without the pack protocol gets no filter: git's dumb-HTTP walker in a promisor repository would start a lazy
 * fetch for every object it checks, each of which walks again.
 */
async function makePartial(mirror: string, url: string, run: GitRun): Promise<Result<void, GitProblem>> {
  const text = mirrorConfig(mirror)
  const hasUrl = /^\[remote "origin"\][^[]*^\s*url\s*=/m.test(text)
  if (/^\s*(partialclone\s*=\s*origin|wholehistory\s*=\s*true)\s*$/m.test(text) && !hasUrl) return ok(undefined)
  const head = await remoteHead(mirror, url, run)
  if (!head.ok) return head
  const steps: string[][] = [['config', 'comfy-vc.url', withoutCredentials(url)], ...(head.value.smart ? [
    ['config', 'core.repositoryformatversion', '1'], ['config', 'remote.origin.promisor', 'true'],
    ['config', 'remote.origin.partialclonefilter', 'blob:none'], ['config', 'extensions.partialClone', 'origin'],
  ] : [['config', 'comfy-vc.wholehistory', 'true']])]
  if (hasUrl) steps.push(['config', '--unset-all', 'remote.origin.url'])
  for (const args of steps) {
    const r = await runGit(args, { ...run, cwd: mirror })
    if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `preparing the mirror of ${url}` }))
    if (r.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing: `preparing the mirror in ${mirror}`, detail: gitFailure(r) }))
  }
  if (head.value.branch) await runGit(['symbolic-ref', 'HEAD', head.value.branch], { ...run, cwd: mirror })
  return ok(undefined)
}

const mirrorConfig = (mirror: string): string => { try { return readFileSync(join(mirror, 'config'), 'utf8') } catch { return '' } }

/** Temp folders of mirror builds that were killed; only the lock holder builds, so all are stale. */
async function removeLeftovers(mirror: string): Promise<void> {
  const prefix = `${basename(mirror)}.tmp-`
  const names = await readdir(dirname(mirror)).catch(() => [] as string[])
  await Promise.all(names.filter(n => n.startsWith(prefix))
    .map(n => rm(join(dirname(mirror), n), { recursive: true, force: true })))
}
