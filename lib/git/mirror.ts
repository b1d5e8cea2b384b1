// Operations on a bare mirror shared by ensure-commit.ts and resolve-ref.ts. Mutations run under
// the mirror's lock (withMirrorLock); reads do not need it (git updates refs and packs atomically).
// What talks to the remote goes through runRemoteGit (simple-git, with progress); the rest through runGit.
import { existsSync } from 'node:fs'
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
  const init = await runGit(['init', '--bare', '--quiet', '--', tmp], run)
  if (init.aborted) return err(gitProblem({ reason: 'cancelled', doing: `creating the mirror of ${url}` }))
  if (init.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing: `creating a mirror in ${tmp}`, detail: gitFailure(init) }))
  // Informational (fetches name the URL on the command line): never a credential in a stored file.
  await runGit(['config', 'remote.origin.url', withoutCredentials(url)], { ...run, cwd: tmp })
  const fetched = await fetchRefs(tmp, url, run)
  if (!fetched.ok) return fetched
  return updateHead(tmp, url, run)
}

/** Fetches every branch and tag, pruning the ones gone upstream (pins are outside the refspecs). */
export async function fetchRefs(mirror: string, url: string, run: FetchRun): Promise<Result<void, GitProblem>> {
  const r = await runRemoteGit(['fetch', '--prune', '--', url, ...REFSPECS], { ...run, cwd: mirror })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `fetching ${url}` }))
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'fetch-failed', url, detail: gitFailure(r) }))
  return ok(undefined)
}

/** Asks the server for one commit by sha (GitHub allows it for reachable commits). Failure is not final. */
export async function fetchCommit(mirror: string, url: string, commit: string, run: FetchRun): Promise<Result<void, GitProblem>> {
  const r = await runRemoteGit(['fetch', '--', url, `+${commit}:${PIN_PREFIX}${commit}`], { ...run, cwd: mirror })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `fetching ${commit} from ${url}` }))
  return ok(undefined)
}

/** Points the mirror's HEAD at the remote's default branch, which is what an omitted `ref` means. */
export async function updateHead(mirror: string, url: string, run: GitRun): Promise<Result<void, GitProblem>> {
  const r = await runRemoteGit(['ls-remote', '--symref', '--', url, 'HEAD'], { ...run, cwd: mirror })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `asking ${url} for its default branch` }))
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'fetch-failed', url, detail: gitFailure(r) }))
  const branch = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(r.stdout)?.[1]
  if (branch) await runGit(['symbolic-ref', 'HEAD', branch], { ...run, cwd: mirror })
  return ok(undefined)
}

/** Temp folders of mirror builds that were killed; only the lock holder builds, so all are stale. */
async function removeLeftovers(mirror: string): Promise<void> {
  const prefix = `${basename(mirror)}.tmp-`
  const names = await readdir(dirname(mirror)).catch(() => [] as string[])
  await Promise.all(names.filter(n => n.startsWith(prefix))
    .map(n => rm(join(dirname(mirror), n), { recursive: true, force: true })))
}
