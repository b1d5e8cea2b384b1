import { unreachable } from '../result.ts'
import { redact } from '../util/redact.ts'

/** What went wrong, as data; `message` is rendered from it in {@link gitProblem} only. */
export type GitProblemData =
  /** A branch, tag or sha that the repository does not have (`ref` undefined: its default branch). */
  | { reason: 'missing-ref'; url: string; ref: string | undefined; detail?: string }
  /** A pinned commit that neither the refs nor a fetch by sha brought into the mirror. */
  | { reason: 'missing-commit'; url: string; commit: string }
  /** `--offline` and the mirror, the commit or the ref is not there yet. */
  | { reason: 'offline-missing'; url: string; missing: 'mirror' | 'commit' | 'ref' | 'files'; what?: string }
  /** The remote could not be reached or refused (auth, network, not a repository). */
  | { reason: 'fetch-failed'; url: string; detail: string }
  /** A checkout has modified tracked files; they are kept unless `force`. */
  | { reason: 'local-changes'; dir: string; files: string[] }
  /** Files already in a folder being turned into a checkout, that the checkout would replace. */
  | { reason: 'would-overwrite'; dir: string; commit: string; files: string[] }
  | { reason: 'checkout-failed'; dir: string; commit: string; detail: string }
  /** git itself failed where it should not (not installed, a full disk, a broken mirror). */
  | { reason: 'git-failed'; doing: string; detail: string }
  | { reason: 'cancelled'; doing: string }

export type GitProblem = GitProblemData & {
  /** One text a user can act on; credentials redacted. */
  message: string
  files?: string[]
}

const MAX_FILES = 10

/** Builds a problem with its message; every text in it (URLs, git's output) is redacted here, once for all. */
export function gitProblem(data: GitProblemData): GitProblem {
  const safe = redactData(data)
  return { ...safe, message: describe(safe) }
}

function redactData(data: GitProblemData): GitProblemData {
  const out: Record<string, unknown> = { ...data }
  for (const [k, v] of Object.entries(out)) if (typeof v === 'string') out[k] = redact(v)
  return out as GitProblemData
}

function describe(p: GitProblemData): string {
  switch (p.reason) {
    case 'missing-ref': {
      const what = p.ref === undefined ? 'its default branch (HEAD)' : `ref "${p.ref}" (no such branch, tag or commit)`
      return `${p.url} has no ${what}${p.detail ? `: ${p.detail}` : ''}`
    }
    case 'missing-commit':
      return `commit ${p.commit} is not in ${p.url}: no branch or tag contains it and the server did not send it when asked by sha (was it force-pushed away?)`
    case 'offline-missing':
      if (p.missing === 'mirror') return `offline: ${p.url} has no local mirror yet; run once without --offline`
      // A partial mirror fetches a commit's files when it is first checked out.
      if (p.missing === 'files') return `offline: ${p.what ?? 'files'} of ${p.url} are not in the local mirror (it fetches a commit's files at its first checkout); run once without --offline`
      return `offline: ${p.missing} ${p.what ?? ''} of ${p.url} is not in the local mirror; run once without --offline`
        .replace(/ {2}/g, ' ')
    case 'fetch-failed':
      return `could not fetch ${p.url}: ${p.detail}`
    case 'local-changes':
      return `${p.dir} has local changes to tracked files: ${listFiles(p.files)}. They were kept; commit or stash them, or run with --force to discard them`
    case 'would-overwrite':
      return `${p.dir} already holds files that checking out ${p.commit.slice(0, 12)} would overwrite: ${listFiles(p.files)}. Nothing was changed; move them away, or run with --force to overwrite them`
    case 'checkout-failed':
      return `could not check out ${p.commit.slice(0, 12)} in ${p.dir}: ${p.detail}`
    case 'git-failed':
      return `git failed while ${p.doing}: ${p.detail}`
    case 'cancelled':
      return `cancelled while ${p.doing}`
    default:
      return unreachable(p)
  }
}

function listFiles(files: string[]): string {
  const shown = files.slice(0, MAX_FILES).join(', ')
  return files.length > MAX_FILES ? `${shown} (and ${files.length - MAX_FILES} more)` : shown
}
