import { existsSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'

/**
 * A note in a checkout's git dir, written before the tool checks out in place and removed after:
 * its presence means the files may be half-way between two commits, and that the tool may force
 * the checkout on its next run (the mess is its own). It holds the target commit.
 */
export const PENDING_NOTE = 'comfy-vc-pending'

const HEX_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** The git dir of a checkout (`.git`, or where a `gitdir:` file points), or undefined when `dir` is not one. */
export function gitDirOf(dir: string): string | undefined {
  const dotGit = join(dir, '.git')
  let st
  try { st = statSync(dotGit) } catch { return undefined }
  if (st.isDirectory()) return existsSync(join(dotGit, 'HEAD')) ? dotGit : undefined
  const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))
  if (!m) return undefined
  const target = m[1]!.trim()
  return isAbsolute(target) ? target : resolve(dir, target)
}

/** The sha a checkout's HEAD is detached at, read from files only (no process); undefined otherwise. */
export function detachedHead(gitDir: string): string | undefined {
  let head: string
  try { head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim() } catch { return undefined }
  return HEX_SHA.test(head) ? head : undefined
}

/**
 * The commit `dir` is checked out at, without starting git: the cheap output check of a no-op
 * realize. Undefined when `dir` is not a checkout, HEAD is on a branch, or a checkout by the tool
 * was interrupted there (a pending note exists).
 */
export function readHead(dir: string): string | undefined {
  const gitDir = gitDirOf(dir)
  if (!gitDir || existsSync(join(gitDir, PENDING_NOTE))) return undefined
  return detachedHead(gitDir)
}
