/**
 * Real git repositories for tests, served as `file://` URLs (no network, nothing mocked).
 *
 *   const repo = await makeRepo(tmp, 'NodeA', [{ 'a.py': '1' }, { 'a.py': '2', 'requirements.txt': 'x\n' }],
 *     { branch: 'main', tags: { 'v1': 0 }, annotatedTags: { 'v2': 1 } })
 *   repo.url        // file:///…/NodeA — fetch by sha allowed (uploadpack.allow*SHA1InWant)
 *   repo.commits    // one full sha per file map, in order
 *   const sha = await addCommit(repo, { 'a.py': '3', 'old.txt': null })   // null deletes a file
 *   await addTag(repo, 'v3', sha, { annotated: true })
 *
 * Each file map is applied on top of the previous commit. Author, committer, e-mail and dates are
 * fixed (dates advance one minute per commit), so the same calls give the same shas on every run.
 * The caller removes `root`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

export interface TestRepo {
  /** `file://` URL of the repository. */
  url: string
  /** Its working tree (a normal, non-bare repository). */
  dir: string
  /** Shas of the commits made so far, oldest first (addCommit appends). */
  commits: string[]
  branch: string
}

/** A file's new content, or null to delete it. */
export type FileMap = Record<string, string | null>

const BASE_DATE = 1_700_000_000

/** Environment for helper git processes: no user or system config, fixed identity. */
export function testGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('GIT_')) delete env[k]
  return {
    ...env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test Author', GIT_AUTHOR_EMAIL: 'author@example.test',
    GIT_COMMITTER_NAME: 'Test Committer', GIT_COMMITTER_EMAIL: 'committer@example.test', ...extra,
  }
}

/** Runs git in `cwd` and returns its trimmed stdout; throws with git's stderr on failure. */
export function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, env: testGitEnv(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

export async function makeRepo(
  root: string, name: string, commits: FileMap[],
  opts: { branch?: string; tags?: Record<string, number>; annotatedTags?: Record<string, number> } = {},
): Promise<TestRepo> {
  const dir = join(root, name)
  const branch = opts.branch ?? 'main'
  mkdirSync(dir, { recursive: true })
  git(dir, ['init', '--quiet', '--initial-branch', branch])
  git(dir, ['config', 'uploadpack.allowAnySHA1InWant', 'true'])
  git(dir, ['config', 'uploadpack.allowReachableSHA1InWant', 'true'])
  const repo: TestRepo = { url: pathToFileURL(dir).href, dir, commits: [], branch }
  for (const files of commits) await addCommit(repo, files)
  for (const [tag, i] of Object.entries(opts.tags ?? {})) await addTag(repo, tag, shaAt(repo, i))
  for (const [tag, i] of Object.entries(opts.annotatedTags ?? {})) await addTag(repo, tag, shaAt(repo, i), { annotated: true })
  return repo
}

/** Commits `files` on top of the current branch and returns the new sha. */
export async function addCommit(repo: TestRepo, files: FileMap, message?: string): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(repo.dir, path)
    if (content === null) { rmSync(full, { force: true }); continue }
    mkdirSync(dirname(full), { recursive: true })
    writeFileSync(full, content)
  }
  git(repo.dir, ['add', '--all'])
  const n = repo.commits.length
  const date = `@${BASE_DATE + n * 60} +0000`
  git(repo.dir, ['commit', '--quiet', '--allow-empty', '-m', message ?? `commit ${n + 1}`],
    { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date })
  const sha = git(repo.dir, ['rev-parse', 'HEAD'])
  repo.commits.push(sha)
  return sha
}

/** Tags `sha` (lightweight, or annotated with a fixed date). */
export async function addTag(repo: TestRepo, tag: string, sha: string, opts: { annotated?: boolean } = {}): Promise<void> {
  const date = `@${BASE_DATE} +0000`
  git(repo.dir, opts.annotated ? ['tag', '-a', '-m', tag, tag, sha] : ['tag', tag, sha], { GIT_COMMITTER_DATE: date })
}

function shaAt(repo: TestRepo, i: number): string {
  const sha = repo.commits[i]
  if (!sha) throw new Error(`makeRepo: tag points at commit ${i}, but there are ${repo.commits.length}`)
  return sha
}
