// A partial mirror holds the blobs of the trees versions check out, fetched once per commit and shared by every
// checkout of it (they borrow the mirror's objects). A marker per commit lets the next run skip the check.
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { err, ok, type Result } from '../result.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { fetchObjects, type FetchRun } from './mirror.ts'
import { gitFailure, runGit, type GitRun } from './run-git.ts'

const treeMark = (mirror: string, commit: string): string => join(mirror, 'comfy-vc', 'trees', commit)

/** Every blob of `commit`'s tree was in the mirror when last checked (read from a file: no process). */
export const treeComplete = (mirror: string, commit: string): boolean => existsSync(treeMark(mirror, commit))

/** The objects of `commit`'s tree (not its history) the mirror lacks. */
export async function missingTreeObjects(mirror: string, commit: string, run: GitRun): Promise<Result<string[], GitProblem>> {
  // --missing=print lists absent objects as `?<oid>` and never starts a lazy fetch.
  const r = await runGit(['rev-list', '--objects', '--no-walk', '--missing=print', commit, '--'], { ...run, cwd: mirror })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: 'reading a git mirror' }))
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing: `listing the files of ${commit}`, detail: gitFailure(r) }))
  return ok(r.stdout.split('\n').filter(l => l.startsWith('?')).map(l => l.slice(1).trim()))
}

export interface TreeBlobsOptions { mirror: string; url: string; commit: string; offline: boolean; run: FetchRun }

/**
 * Makes the mirror hold every blob of `commit`'s tree (call under the mirror's lock when not offline): fetches
 * the missing ones in one request. Returns how many were fetched.
 */
export async function ensureTreeBlobs(o: TreeBlobsOptions): Promise<Result<number, GitProblem>> {
  if (treeComplete(o.mirror, o.commit)) return ok(0)
  const missing = await missingTreeObjects(o.mirror, o.commit, o.run)
  if (!missing.ok) return missing
  let fetched = 0
  if (missing.value.length > 0) {
    if (o.offline) {
      return err(gitProblem({ reason: 'offline-missing', url: o.url, missing: 'files', what: `${missing.value.length} files of commit ${o.commit.slice(0, 12)}` }))
    }
    const got = await fetchObjects(o.mirror, o.url, missing.value, o.run)
    if (!got.ok) return got
    const still = await missingTreeObjects(o.mirror, o.commit, o.run)
    if (!still.ok) return still
    if (still.value.length > 0) {
      return err(gitProblem({ reason: 'fetch-failed', url: o.url, detail: `the server did not send ${still.value.length} files of commit ${o.commit.slice(0, 12)} (${still.value[0]}…)` }))
    }
    fetched = missing.value.length
  }
  await mkdir(join(o.mirror, 'comfy-vc', 'trees'), { recursive: true })
  await writeFile(treeMark(o.mirror, o.commit), '')
  return ok(fetched)
}
