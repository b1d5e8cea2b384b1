import { err, ok, type Result } from '../result.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { mirrorDir } from './mirror-dir.ts'
import {
  ensureMirror, fetchCommit, fetchesWholeHistory, fetchRefs, FULL_SHA, hasCommit, isPinned, mirrorExists, pin, withMirrorLock,
} from './mirror.ts'
import type { GitRun } from './run-git.ts'
import { ensureTreeBlobs, treeComplete } from './tree-blobs.ts'

export interface EnsureCommitOptions extends GitRun {
  cacheRoot: string
  /** The URL as the user gave it (credentials included): used to fetch, never stored. */
  url: string
  /** A full sha. */
  commit: string
  /** Use the mirror only; a missing mirror, commit or file of its tree is an `offline-missing` problem. */
  offline: boolean
  /** Told when the wait for the mirror's lock lasts (another process fetching into it). */
  onWait?: ((line: string) => void) | undefined
  /** A fetch's progress as it goes, one line at a time (`fetching: receiving objects 45% (120/266)`). */
  onProgress?: ((text: string) => void) | undefined
}

export interface EnsuredCommit {
  mirror: string
  /** Whether anything was fetched (false: the mirror already had the commit and its files). */
  fetched: boolean
  /** This run fetched from a server that refused to filter: the mirror holds the whole history, blobs included. */
  wholeHistory?: true
}

/**
 * Makes the repository's mirror hold `commit` and every file of its tree: creates the (partial) mirror if missing,
 * fetches only when the commit is not there (all branches and tags first, then the sha itself), then the blobs of
 * its tree it lacks. Two processes wanting the same mirror take turns on its lock; a commit already pinned with
 * its files costs no git process at all.
 */
export async function ensureCommit(opts: EnsureCommitOptions): Promise<Result<EnsuredCommit, GitProblem>> {
  const { cacheRoot, url, offline, signal, onWait } = opts
  const run = { env: opts.env, signal, onProgress: opts.onProgress }
  const commit = opts.commit.toLowerCase()
  const mirror = mirrorDir(cacheRoot, url)
  if (!FULL_SHA.test(commit)) throw new Error(`internal error: ensureCommit needs a full sha, got "${opts.commit}"`)
  if (isPinned(mirror, commit) && treeComplete(mirror, commit)) return ok({ mirror, fetched: false })

  let present = false
  if (mirrorExists(mirror)) {
    const has = await hasCommit(mirror, commit, run)
    if (!has.ok) return has
    present = has.value
  }
  if (offline) {
    if (!present) {
      return err(gitProblem(mirrorExists(mirror)
        ? { reason: 'offline-missing', url, missing: 'commit', what: commit }
        : { reason: 'offline-missing', url, missing: 'mirror' }))
    }
    const blobs = await ensureTreeBlobs({ mirror, url, commit, offline, run })
    if (!blobs.ok) return blobs
    await pin(mirror, commit, run)
    return ok({ mirror, fetched: false })
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
    const blobs = await ensureTreeBlobs({ mirror, url, commit, offline, run })
    if (!blobs.ok) return blobs
    fetched ||= blobs.value > 0
    await pin(mirror, commit, run)
    return ok({ mirror, fetched, ...(fetched && fetchesWholeHistory(mirror) ? { wholeHistory: true as const } : {}) })
  })
}
