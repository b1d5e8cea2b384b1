import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { err, ok, type Result } from '../result.ts'
import { gitProblem, type GitProblem } from './git-problem.ts'
import { mirrorDir } from './mirror-dir.ts'
import { ensureMirror, fetchCommit, fetchRefs, FULL_SHA, hasCommit, mirrorExists, updateHead, withMirrorLock } from './mirror.ts'
import { runGit, type GitRun } from './run-git.ts'

export interface ResolveRefOptions extends GitRun {
  cacheRoot: string
  /** The URL as the user gave it (credentials included): used to fetch, never stored. */
  url: string
  /** A branch, a tag, a short or full sha, or a full ref name; undefined: the remote's default branch. */
  ref: string | undefined
  offline: boolean
  /** Fetch before resolving, so a branch gives its newest commit (a full sha present needs no fetch). */
  refresh: boolean
  /** Told when the wait for the mirror's lock lasts (another process fetching into it). */
  onWait?: ((line: string) => void) | undefined
  /** A fetch's progress as it goes, one line at a time. */
  onProgress?: ((text: string) => void) | undefined
}

export interface ResolvedRef {
  /** The full sha of the commit (annotated tags are peeled). */
  commit: string
  mirror: string
}

const SHORT_SHA = /^[0-9a-f]{4,64}$/

/**
 * Resolves a ref to a full commit through the repository's mirror (the one realize uses), creating
 * it when missing. Refs are looked up as git does: tag, then branch, then a (short) sha. A ref the
 * mirror does not know makes it fetch once (unless offline) before the answer is "missing".
 */
export async function resolveRef(opts: ResolveRefOptions): Promise<Result<ResolvedRef, GitProblem>> {
  const { cacheRoot, url, ref, offline, signal, onWait } = opts
  const run = { env: opts.env, signal, onProgress: opts.onProgress }
  const mirror = mirrorDir(cacheRoot, url)
  const fullSha = ref !== undefined && FULL_SHA.test(ref.toLowerCase()) ? ref.toLowerCase() : undefined

  if (!mirrorExists(mirror) && offline) return err(gitProblem({ reason: 'offline-missing', url, missing: 'mirror' }))
  if (fullSha && mirrorExists(mirror)) {
    const has = await hasCommit(mirror, fullSha, run)
    if (!has.ok) return has
    if (has.value) return ok({ commit: fullSha, mirror })
  }

  let fetched = false
  const refresh = () => withMirrorLock(cacheRoot, url, signal, onWait, async (): Promise<Result<void, GitProblem>> => {
    fetched = true
    const created = await ensureMirror(mirror, url, run)
    if (!created.ok) return created
    if (created.value) return ok(undefined)
    const refs = await fetchRefs(mirror, url, run)
    if (!refs.ok || ref !== undefined) return refs
    return updateHead(mirror, url, run)
  })

  if (!offline && (opts.refresh || !mirrorExists(mirror))) {
    const r = await refresh()
    if (!r.ok) return r
  }
  let found = await lookup(mirror, ref, run)
  if (!found.ok) return found
  if (found.value.commit === undefined && !fetched && !offline) {
    const r = await refresh()
    if (!r.ok) return r
    found = await lookup(mirror, ref, run)
    if (!found.ok) return found
  }
  if (found.value.commit === undefined && fullSha && !offline) {
    const r = await withMirrorLock(cacheRoot, url, signal, onWait, () => fetchCommit(mirror, url, fullSha, run))
    if (!r.ok) return r
    found = await lookup(mirror, ref, run)
    if (!found.ok) return found
  }
  const { commit, detail } = found.value
  if (commit !== undefined) return ok({ commit, mirror })
  if (offline) return err(gitProblem({ reason: 'offline-missing', url, missing: 'ref', what: ref === undefined ? 'HEAD' : `"${ref}"` }))
  return err(gitProblem({ reason: 'missing-ref', url, ref, detail }))
}

/** The commit `ref` names in the mirror, or undefined (with git's reason when it has one). */
async function lookup(mirror: string, ref: string | undefined, run: GitRun):
  Promise<Result<{ commit?: string; detail?: string }, GitProblem>> {
  const fromFiles = lookupInFiles(mirror, ref)
  if (fromFiles) return ok({ commit: fromFiles })
  // Every candidate starts with "refs/", "HEAD" or hex digits, so none can be read as an option.
  const candidates = ref === undefined ? ['HEAD']
    : ref.startsWith('refs/') ? [ref]
    : [`refs/tags/${ref}`, `refs/heads/${ref}`, ...(SHORT_SHA.test(ref.toLowerCase()) ? [ref.toLowerCase()] : [])]
  let detail: string | undefined
  for (const candidate of candidates) {
    const r = await runGit(['rev-parse', '--verify', `${candidate}^{commit}`], { ...run, cwd: mirror })
    if (r.aborted) return err(gitProblem({ reason: 'cancelled', doing: 'resolving a ref' }))
    if (r.exitCode === 0) return ok({ commit: r.stdout.trim() })
    if (/ambiguous/i.test(r.stderr)) detail = `the short sha "${ref}" matches more than one object; give more digits`
  }
  return ok({ detail })
}

/**
 * The commit a branch, a lightweight or peeled tag, or HEAD names, read from the mirror's files as git would (loose
 * ref, then packed-refs), so that the no-op realize of an unpinned spec starts no git. Undefined when the files
 * cannot tell (a loose tag may be an annotated tag object, a short sha needs the object store): git decides then.
 */
export function lookupInFiles(mirror: string, ref: string | undefined): string | undefined {
  const packed = packedRefs(mirror)
  if (ref === undefined) {
    const head = readText(join(mirror, 'HEAD'))?.trim()
    if (!head) return undefined
    if (HEX.test(head)) return head
    const target = /^ref: (refs\/\S+)$/.exec(head)?.[1]
    return target ? refInFiles(mirror, packed, target) : undefined
  }
  if (!/^[\w./-]+$/.test(ref) || ref.split('/').includes('..')) return undefined
  const names = ref.startsWith('refs/') ? [ref] : [`refs/tags/${ref}`, `refs/heads/${ref}`]
  const name = names.find(n => existsSync(join(mirror, n)) || packed.has(n))
  return name ? refInFiles(mirror, packed, name) : undefined
}

const HEX = /^[0-9a-f]{40}$/

type PackedRef = { sha: string; peeled?: string; fullyPeeled: boolean }

function refInFiles(mirror: string, packedRefs: ReadonlyMap<string, PackedRef>, name: string): string | undefined {
  const loose = readText(join(mirror, name))?.trim()
  if (loose !== undefined) return HEX.test(loose) && !name.startsWith('refs/tags/') ? loose : undefined
  const packed = packedRefs.get(name)
  return packed?.peeled ?? (packed && (!name.startsWith('refs/tags/') || packed.fullyPeeled) ? packed.sha : undefined)
}

/** packed-refs: name → sha, the commit an annotated tag peels to (the `^` line after it), and whether every tag was peeled. */
function packedRefs(mirror: string): Map<string, PackedRef> {
  const refs = new Map<string, PackedRef>()
  const text = readText(join(mirror, 'packed-refs'))
  if (!text) return refs
  const fullyPeeled = /^# pack-refs with:.* fully-peeled/m.test(text)
  let last: PackedRef | undefined
  for (const line of text.split('\n')) {
    const peel = /^\^([0-9a-f]{40})$/.exec(line)
    if (peel && last) { last.peeled = peel[1]; continue }
    const m = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line)
    if (m) { last = { sha: m[1]!, fullyPeeled }; refs.set(m[2]!, last) }
  }
  return refs
}

const readText = (path: string): string | undefined => { try { return readFileSync(path, 'utf8') } catch { return undefined } }
