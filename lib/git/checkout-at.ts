import { existsSync } from 'node:fs'
import { appendFile, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { removeDeadTemps } from '../util/atomic.ts'
import { basename, dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { err, ok, type Result } from '../result.ts'
import type { ExecResult } from '../util/exec.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { localModifications } from './local-modifications.ts'
import { FULL_SHA } from './mirror.ts'
import { detachedHead, gitDirOf, PENDING_NOTE } from './read-head.ts'
import { withoutCredentials } from './repo-url.ts'
import { gitFailure, runGit, type GitRun } from './run-git.ts'

export interface CheckoutAtOptions extends GitRun {
  /** The bare mirror holding `commit` (see ensureCommit); the checkout borrows its objects. */
  mirror: string
  /** The repository's URL; stored as the checkout's `origin`, without credentials. */
  url: string
  commit: string
  dir: string
  /** Discard local modifications of tracked files (and overwrite files in the way of an in-place checkout). */
  force: boolean
  /** A checkout already at the commit is also checked for modified tracked files (reset with `force`, else refused). */
  restore?: boolean
}

export interface CheckoutOutcome {
  action: 'cloned' | 'moved' | 'unchanged'
  /** The commit a moved checkout was at, when HEAD was detached there. */
  from?: string
}

const TEMP_TAG = 'comfy-vc-clone'

/**
 * Makes `dir` a checkout of `commit` with a detached HEAD, its objects shared with the mirror:
 * - `dir` missing: cloned into a hidden temp sibling, then renamed into place (all or nothing);
 * - `dir` a checkout: moved in place; modified tracked files block the move unless `force`;
 *   untracked files are never touched;
 * - `dir` an existing folder that is not a checkout (the ComfyUI home, which already holds the
 *   tool's `.comfy-vc/`): becomes a checkout in place, unless files there would be overwritten.
 * In-place work is bracketed by a pending note, so a run killed half-way is finished by the next.
 */
export async function checkoutAt(opts: CheckoutAtOptions): Promise<Result<CheckoutOutcome, GitProblem>> {
  const commit = opts.commit.toLowerCase()
  if (!FULL_SHA.test(commit)) throw new Error(`internal error: checkoutAt needs a full sha, got "${opts.commit}"`)
  const o = { ...opts, commit }
  await removeDeadTemps(dirname(o.dir), `.${basename(o.dir)}.${TEMP_TAG}-`)
  if (!existsSync(o.dir)) return cloneFresh(o)
  await removeDeadTemps(o.dir, `.${TEMP_TAG}-`)
  const gitDir = gitDirOf(o.dir)
  return gitDir ? moveCheckout(o, gitDir) : checkoutInPlace(o)
}

async function cloneFresh(o: CheckoutAtOptions): Promise<Result<CheckoutOutcome, GitProblem>> {
  await mkdir(dirname(o.dir), { recursive: true })
  const tmp = join(dirname(o.dir), `.${basename(o.dir)}.${tempSuffix()}`)
  const made = await cloneShared(o, tmp)
  if (made.ok) {
    const r = await runGit(['checkout', '--quiet', '--force', '--detach', o.commit], { ...run(o), cwd: tmp })
    if (r.exitCode === 0) {
      try {
        await rename(tmp, o.dir)
        return ok({ action: 'cloned' })
      } catch (e) {
        await rm(tmp, { recursive: true, force: true })
        return err(gitProblem({ reason: 'checkout-failed', dir: o.dir, commit: o.commit, detail: (e as Error).message }))
      }
    }
    await rm(tmp, { recursive: true, force: true })
    return err(checkoutProblem(o, r))
  }
  await rm(tmp, { recursive: true, force: true })
  return made
}

async function moveCheckout(o: CheckoutAtOptions, gitDir: string): Promise<Result<CheckoutOutcome, GitProblem>> {
  const note = join(gitDir, PENDING_NOTE)
  const pending = existsSync(note)
  const from = detachedHead(gitDir)
  await ensureAlternate(gitDir, o.mirror)
  if (!pending && from === o.commit && !o.restore) return ok({ action: 'unchanged' })
  if (!pending && from === o.commit) {
    const mods = await localModifications(o.dir, run(o))
    if (!mods.ok) return mods
    if (!mods.value.length) return ok({ action: 'unchanged' })
    if (!o.force) return err(gitProblem({ reason: 'local-changes', dir: o.dir, files: mods.value }))
    const reset = await runGit(['reset', '--quiet', '--hard'], { ...run(o), cwd: o.dir })
    return reset.exitCode === 0 ? ok({ action: 'unchanged' }) : err(checkoutProblem(o, reset))
  }
  await runGit(['config', 'remote.origin.url', withoutCredentials(o.url)], { ...run(o), cwd: o.dir })
  const moved = ok({ action: 'moved' as const, ...(from ? { from } : {}) })
  if (pending) {
    const done = await finishPending(o, gitDir)
    return done.ok ? moved : done
  }

  const mods = await localModifications(o.dir, run(o))
  if (!mods.ok) return mods
  if (mods.value.length > 0 && !o.force) return err(gitProblem({ reason: 'local-changes', dir: o.dir, files: mods.value }))
  await writeFile(note, `${o.commit}\n`)
  if (mods.value.length > 0) {
    // --force discards changes to tracked files only; the checkout below still refuses to
    // overwrite untracked files, which are never ours to discard.
    const reset = await runGit(['reset', '--quiet', '--hard'], { ...run(o), cwd: o.dir })
    if (reset.exitCode !== 0) return err(checkoutProblem(o, reset))
  }
  const r = await runGit(['checkout', '--quiet', '--detach', o.commit], { ...run(o), cwd: o.dir })
  // A git that exited by itself refused before touching files; a killed one may have been half-way.
  if (r.exitCode !== 0 && !r.aborted && !r.signal) await rm(note, { force: true })
  if (r.exitCode !== 0) return err(checkoutProblem(o, r))
  await rm(note, { force: true })
  return moved
}

async function checkoutInPlace(o: CheckoutAtOptions): Promise<Result<CheckoutOutcome, GitProblem>> {
  const tmp = join(o.dir, `.${tempSuffix()}`)
  try {
    const made = await cloneShared(o, tmp)
    if (!made.ok) return made
    if (!o.force) {
      const conflicts = await overwriteConflicts(tmp, o)
      if (!conflicts.ok) return conflicts
      if (conflicts.value.length > 0) {
        return err(gitProblem({ reason: 'would-overwrite', dir: o.dir, commit: o.commit, files: conflicts.value }))
      }
    }
    // From here on the folder is the tool's half-done checkout until the note is removed.
    await writeFile(join(tmp, '.git', PENDING_NOTE), `${o.commit}\n`)
    await rename(join(tmp, '.git'), join(o.dir, '.git'))
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  const done = await finishPending(o, join(o.dir, '.git'))
  return done.ok ? ok({ action: 'cloned' }) : done
}

/** Completes a checkout the tool started: its own half-written files may be overwritten. */
async function finishPending(o: CheckoutAtOptions, gitDir: string): Promise<Result<void, GitProblem>> {
  // Locks left by a git that was killed with us.
  await rm(join(gitDir, 'index.lock'), { force: true })
  await rm(join(gitDir, 'HEAD.lock'), { force: true })
  const r = await runGit(['checkout', '--quiet', '--force', '--detach', o.commit], { ...run(o), cwd: o.dir })
  if (r.exitCode !== 0) return err(checkoutProblem(o, r))
  await rm(join(gitDir, PENDING_NOTE), { force: true })
  return ok(undefined)
}

/** `git clone --shared --no-checkout` of the mirror: objects borrowed through alternates, none copied. */
async function cloneShared(o: CheckoutAtOptions, target: string): Promise<Result<void, GitProblem>> {
  const clone = await runGit(['clone', '--quiet', '--shared', '--no-checkout', '--template=', '--', o.mirror, target], run(o))
  if (clone.exitCode !== 0) return err(checkoutProblem(o, clone))
  const url = await runGit(['config', 'remote.origin.url', withoutCredentials(o.url)], { ...run(o), cwd: target })
  return url.exitCode === 0 ? ok(undefined) : err(checkoutProblem(o, url))
}

/**
 * Paths of `commit` that already exist in `o.dir` with other content (or another kind: a folder
 * where the commit has a file). Identical files are not conflicts: overwriting them changes nothing.
 */
async function overwriteConflicts(repo: string, o: CheckoutAtOptions): Promise<Result<string[], GitProblem>> {
  const tree = await runGit(['ls-tree', '-r', '-z', '--full-tree', o.commit], { ...run(o), cwd: repo })
  if (tree.exitCode !== 0) return err(checkoutProblem(o, tree))
  const conflicts: string[] = []
  const toHash: { path: string; sha: string }[] = []
  for (const entry of tree.stdout.split('\0')) {
    const tab = entry.indexOf('\t')
    if (tab < 0) continue
    const [mode, type, sha] = entry.slice(0, tab).split(' ')
    const path = entry.slice(tab + 1)
    const st = await lstat(join(o.dir, path)).catch((e: NodeJS.ErrnoException) => e.code === 'ENOENT' ? undefined : e)
    if (st === undefined) continue
    if (st instanceof Error) conflicts.push(path)
    else if (type === 'commit') { if (!st.isDirectory()) conflicts.push(path) }
    else if (mode === '120000' || !st.isFile() || path.includes('\n')) conflicts.push(path)
    else toHash.push({ path, sha: sha! })
  }
  if (toHash.length > 0) {
    const input = toHash.map(f => join(o.dir, f.path)).join('\n') + '\n'
    const hashed = await runGit(['hash-object', '--no-filters', '--stdin-paths'], { ...run(o), cwd: repo, input })
    if (hashed.exitCode !== 0) return err(checkoutProblem(o, hashed))
    const shas = hashed.stdout.split('\n')
    toHash.forEach((f, i) => { if (shas[i] !== f.sha) conflicts.push(f.path) })
  }
  return ok(conflicts.sort())
}

/** Lets a checkout the mirror did not make (or made from another URL's mirror) read this mirror's objects. */
async function ensureAlternate(gitDir: string, mirror: string): Promise<void> {
  const file = join(gitDir, 'objects', 'info', 'alternates')
  const want = resolve(mirror, 'objects')
  const text = await readFile(file, 'utf8').catch(() => '')
  if (text.split('\n').some(l => l.trim() && resolve(gitDir, 'objects', l.trim()) === want)) return
  await mkdir(dirname(file), { recursive: true })
  await appendFile(file, `${text && !text.endsWith('\n') ? '\n' : ''}${want}\n`)
}

function checkoutProblem(o: CheckoutAtOptions, r: ExecResult): GitProblem {
  if (r.aborted) return gitProblem({ reason: 'cancelled', doing: `checking out ${o.dir}` })
  return gitProblem({ reason: 'checkout-failed', dir: o.dir, commit: o.commit, detail: gitFailure(r) })
}

/** The run's environment and signal, for each git the checkout starts. */
const run = (o: CheckoutAtOptions): GitRun => ({ env: o.env, signal: o.signal })

const tempSuffix = (): string => `${TEMP_TAG}-${process.pid}-${randomBytes(4).toString('hex')}`
