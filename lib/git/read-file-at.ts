import { err, ok, type Result } from '../result.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { mirrorDir } from './mirror-dir.ts'
import { fetchObjects, withMirrorLock, type FetchRun } from './mirror.ts'
import { gitFailure, runGit } from './run-git.ts'

export interface ReadFileAtOptions extends FetchRun {
  cacheRoot: string
  url: string
  /** A commit the mirror holds (ensureCommit). */
  commit: string
  path: string
  offline: boolean
  onWait?: ((line: string) => void) | undefined
}

/**
 * One file of a commit, read from its mirror without a checkout; undefined when the commit has no such file. A
 * partial mirror holds the tree but maybe not the blob: that one blob is fetched (under the mirror's lock), never a
 * lazy fetch of git's own (the mirror keeps no remote URL).
 */
export async function readFileAt(o: ReadFileAtOptions): Promise<Result<string | undefined, GitProblem>> {
  const mirror = mirrorDir(o.cacheRoot, o.url)
  const run = { env: o.env, signal: o.signal }
  const oid = await runGit(['rev-parse', '--verify', '--quiet', `${o.commit}:${o.path}`], { ...run, cwd: mirror })
  if (oid.exitCode !== 0) return ok(undefined)
  const blob = oid.stdout.trim()
  // --missing=print names an absent object as `?<oid>` and never starts a lazy fetch.
  const seen = await runGit(['rev-list', '--objects', '--no-walk', '--missing=print', blob], { ...run, cwd: mirror })
  if (seen.stdout.split('\n').some(l => l.startsWith('?'))) {
    if (o.offline) return err(gitProblem({ reason: 'offline-missing', url: o.url, missing: 'files', what: `${o.path} of commit ${o.commit.slice(0, 12)}` }))
    const got = await withMirrorLock(o.cacheRoot, o.url, o.signal, o.onWait, () => fetchObjects(mirror, o.url, [blob], o))
    if (!got.ok) return got
  }
  const r = await runGit(['cat-file', 'blob', blob], { ...run, cwd: mirror })
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing: `reading ${o.path} of ${o.commit.slice(0, 12)}`, detail: gitFailure(r) }))
  return ok(r.stdout)
}
