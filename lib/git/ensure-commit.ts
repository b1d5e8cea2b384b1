import { err, ok, type Result } from '../result.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { mirrorDir } from './mirror-dir.ts'
import { ensureMirror, fetchCommit, fetchRefs, FULL_SHA, hasCommit, isPinned, mirrorExists, pin, withMirrorLock } from './mirror.ts'
import type { GitRun } from './run-git.ts'

export interface EnsureCommitOptions extends GitRun {
  cacheRoot: string
  /** The URL as the user gave it (credentials included): used to fetch, never stored. */
  url: string
  /** A full sha. */
  commit: string
  /** Use the mirror only; a missing mirror or commit is an `offline-missing` problem. */
  offline: boolean
  /** Told when the wait for the mirror's lock lasts (another process fetching into it). */
  onWait?: ((line: string) => void) | undefined
  /** A fetch's progress as it goes, one line at a time (`fetching: receiving objects 45% (120/266)`). */
  onProgress?: ((text: string) => void) | undefined
}

export interface EnsuredCommit {
  mirror: string
  /** Whether anything was fetched (false: the mirror already had the commit). */
  fetched: boolean
}

/**
 * Makes the repository's mirror hold `commit`: creates the mirror if missing, fetches only when the
 * commit is not there (all branches and tags first, then the sha itself). Two processes wanting the
 * same mirror take turns on its lock; a commit already pinned costs no git process at all.
 */
export async function ensureCommit(opts: EnsureCommitOptions): Promise<Result<EnsuredCommit, GitProblem>> {
  const { cacheRoot, url, offline, signal, onWait } = opts
  const run = { env: opts.env, signal, onProgress: opts.onProgress }
  const commit = opts.commit.toLowerCase()
  const mirror = mirrorDir(cacheRoot, url)
  if (!FULL_SHA.test(commit)) throw new Error(`internal error: ensureCommit needs a full sha, got "${opts.commit}"`)
  if (isPinned(mirror, commit)) return ok({ mirror, fetched: false })

  if (mirrorExists(mirror)) {
    const has = await hasCommit(mirror, commit, run)
    if (!has.ok) return has
    if (has.value) { await pin(mirror, commit, run); return ok({ mirror, fetched: false }) }
  }
  if (offline) {
    return err(gitProblem(mirrorExists(mirror)
      ? { reason: 'offline-missing', url, missing: 'commit', what: commit }
      : { reason: 'offline-missing', url, missing: 'mirror' }))
  }

  return withMirrorLock(cacheRoot, url, signal, onWait, async () => {
    const created = await ensureMirror(mirror, url, run)
    if (!created.ok) return created
    let fetched = created.value
    // Another process may have fetched it while we waited for the lock.
    let has = await hasCommit(mirror, commit, run)
    if (has.ok && !has.value && !fetched) {
      const refs = await fetchRefs(mirror, url, run)
      if (!refs.ok) return refs
      fetched = true
      has = await hasCommit(mirror, commit, run)
    }
    if (has.ok && !has.value) {
      const bySha = await fetchCommit(mirror, url, commit, run)
      if (!bySha.ok) return bySha
      fetched = true
      has = await hasCommit(mirror, commit, run)
    }
    if (!has.ok) return has
    if (!has.value) return err(gitProblem({ reason: 'missing-commit', url, commit }))
    await pin(mirror, commit, run)
    return ok({ mirror, fetched })
  })
}
