import { err, ok, type Result } from '../result.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { gitFailure, runGit, type GitRun } from './run-git.ts'

/**
 * Tracked files of the checkout at `dir` that differ from its HEAD (staged or not), as paths
 * relative to `dir`. Untracked files are not listed: they are the user's and never touched.
 */
export async function localModifications(dir: string, run: GitRun): Promise<Result<string[], GitProblem>> {
  // --no-optional-locks: reading must not fight a git the user runs in that checkout at the same time.
  const r = await runGit(['--no-optional-locks', 'status', '--porcelain', '-z', '--untracked-files=no'], { ...run, cwd: dir })
  if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: `reading the status of ${dir}` }))
  if (r.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing: `reading the status of ${dir}`, detail: gitFailure(r) }))
  return ok(parsePorcelainZ(r.stdout))
}

/**
 * What the checkout at `dir` holds that exists nowhere else, so that deleting the folder would lose it: modified
 * tracked files, files git does not track (ignored ones included: a node's settings often are), and objects of its
 * own (a commit, a stash, a staged file; a checkout the tool made borrows every object from the mirror and has none).
 * Python's bytecode caches are not counted: Python makes them, not the user.
 */
export async function workOnlyHere(dir: string, run: GitRun): Promise<Result<string[], GitProblem>> {
  const doing = `reading the status of ${dir}`
  const status = await runGit(['--no-optional-locks', 'status', '--porcelain', '-z', '--untracked-files=all', '--ignored'], { ...run, cwd: dir })
  if (status.aborted) return err(gitProblem({ reason: 'cancelled', doing }))
  if (status.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing, detail: gitFailure(status) }))
  const found = parsePorcelainZ(status.stdout).filter(path => !/(^|\/)__pycache__\/|\.pyc$/.test(path))
  const objects = await runGit(['count-objects', '-v'], { ...run, cwd: dir })
  if (objects.exitCode !== 0) return err(gitProblem({ reason: 'git-failed', doing, detail: gitFailure(objects) }))
  const own = /^count: (\d+)$/m.exec(objects.stdout)?.[1] !== '0' || /^in-pack: (\d+)$/m.exec(objects.stdout)?.[1] !== '0'
  return ok(own ? [...found, '(commits, stashes or staged files of its own)'] : found)
}

/** `XY path\0`, where a rename or copy adds `\0origin` (which we skip). */
function parsePorcelainZ(out: string): string[] {
  const fields = out.split('\0')
  const files: string[] = []
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i]!
    if (entry.length < 4) continue
    files.push(entry.slice(3))
    if (/[RC]/.test(entry.slice(0, 2))) i++
  }
  return files
}
