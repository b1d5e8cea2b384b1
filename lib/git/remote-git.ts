// The git commands that talk to a remote (fetch, ls-remote) run through simple-git, for its progress parsing;
// local commands go through runGit (run-git.ts). Both start git with gitEnv() of the run's environment.
import type { SimpleGitOptions, SimpleGitProgressEvent } from 'simple-git'
import type { ExecResult } from '../util/exec.ts'
import { gitEnv, type GitRun } from './run-git.ts'

export interface RemoteGitOptions extends GitRun {
  /** The repository the command runs in (it must exist). */
  cwd: string
  /** A one-line account of a fetch as it goes, e.g. `fetching: receiving objects 45% (120/266)`. */
  onProgress?: ((text: string) => void) | undefined
}

type Unsafe = NonNullable<SimpleGitOptions['unsafe']>

/**
 * simple-git's guards, opened for what a run's environment may carry. They are built against untrusted text
 * reaching git's argv or environment; here the argv is the adapter's own (fixed options, a URL always after `--`)
 * and the environment is the user's, which runGit passes to git as it is. Left closed, they would strip the
 * user's GIT_* variables (GIT_SSL_CAINFO, GIT_CONFIG_GLOBAL) or refuse the variables gitEnv sets
 * (GIT_ASKPASS, SSH_ASKPASS, GIT_SSH_COMMAND) and npm's EDITOR. Any of these categories can be reached through
 * the environment (GIT_CONFIG_COUNT carries any config key), so all are open; with `Required`, a category a newer
 * simple-git adds is a type error here rather than a refused fetch.
 */
const RUN_ENVIRONMENT: Required<Omit<Unsafe, 'allowUnsafeCustomBinary' | 'allowAbbreviatedOptions'>> = {
  allowUnsafeAlias: true, allowUnsafeAskPass: true, allowUnsafeCommandBinaries: true, allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true, allowUnsafeCredentialHelper: true, allowUnsafeEditor: true, allowUnsafeMergeDriver: true,
  allowUnsafePager: true, allowUnsafeProtocolOverride: true, allowUnsafePack: true, allowUnsafeSshCommand: true,
  allowUnsafeGitProxy: true, allowUnsafeExec: true, allowUnsafeHooksPath: true, allowUnsafeDiffExternal: true,
  allowUnsafeDiffTextConv: true, allowUnsafeFilter: true, allowUnsafeFsMonitor: true, allowUnsafeGpgProgram: true,
  allowUnsafeTemplateDir: true, allowUnsafeInclude: true, allowUnsafeSubmodule: true, allowUnsafeUrlRewrite: true,
}

/**
 * Runs a git command that talks to a remote and reports how it ended, as runGit does (it never throws for a failed
 * command): `stderr` is git's, without its progress lines. A `fetch` is given `--progress` (before `--`), which
 * `onProgress` hears.
 */
export async function runRemoteGit(args: readonly string[], opts: RemoteGitOptions): Promise<ExecResult> {
  const result: ExecResult = { command: ['git', ...args].join(' '), exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: false }
  if (opts.signal?.aborted) { result.aborted = true; return result }
  const argv = withProgress(args)
  // Loaded here: a run that fetches nothing (a no-op realize) never loads it.
  const { simpleGit } = await import('simple-git')
  const env = gitEnv(opts.env)
  let ended: { exitCode: number | null; stdOut: Buffer[]; stdErr: Buffer[] } | undefined
  try {
    const git = simpleGit({
      baseDir: opts.cwd,
      // Aborting sends git SIGINT, on which it removes its temporary packs and lock files and exits. Unlike exec's
      // process-group kill, it does not reach git's HTTP helper, which is left to end with its connection (it
      // writes nothing here); ssh and index-pack are git's to stop, and it does.
      abort: opts.signal,
      // The whole environment is passed with .env(): nothing in it is ambient, so every key is allowed through.
      allowEnvironment: Object.keys(env),
      unsafe: RUN_ENVIRONMENT,
      progress: opts.onProgress && (e => opts.onProgress!(progressText(e))),
      // Seen for every command: how git ended, which simple-git's own errors do not keep (exit code, stderr apart).
      errors: (error, r) => {
        ended = r
        return error ?? (r.exitCode === 0 ? undefined : new Error(`git exited with code ${r.exitCode}`))
      },
    }).env(env)
    result.stdout = await git.raw([...argv])
    result.exitCode = 0
    // A warning of a fetch that succeeded (a server that would not filter) is read by the caller.
    if (ended) result.stderr = withoutProgress(Buffer.concat(ended.stdErr).toString('utf8'))
  } catch (e) {
    result.aborted = !!opts.signal?.aborted
    if (ended) {
      result.exitCode = ended.exitCode
      result.stdout = Buffer.concat(ended.stdOut).toString('utf8')
      result.stderr = withoutProgress(Buffer.concat(ended.stdErr).toString('utf8'))
      // git could not be started (ENOENT): simple-git gives the spawn error as stderr and a negative errno as code.
      if (ended.exitCode !== null && ended.exitCode < 0) result.spawnError = result.stderr.replace(/^Error: /, '').trim()
    } else {
      // Refused by simple-git before git started (one of its guards).
      result.spawnError = (e as Error).message
    }
  }
  return result
}

const STAGES: Record<string, string> = {
  receiving: 'receiving objects', resolving: 'resolving deltas', unpacking: 'unpacking objects',
  'remote:': 'the remote is packing objects',
}

/** The one line a progress event is told as: `fetching: receiving objects 45% (120/266)`. */
export function progressText(e: Pick<SimpleGitProgressEvent, 'stage' | 'progress' | 'processed' | 'total'>): string {
  return `fetching: ${STAGES[e.stage] ?? e.stage} ${e.progress}% (${e.processed}/${e.total})`
}

/** Progress meters (`Receiving objects:  45% (1/2)`, `remote: Total 5 (delta 0)`) and the ref summary of a fetch. */
const NOISE = /^(?:(?:remote: )?(?:[A-Z][a-z]+(?: [a-z]+)*: +\d+(?:%|,|\s|$)|Total \d+ \(delta \d+\))|From |[ ][ +\-*t!=] )/

/** git's stderr without what `--progress` and a fetch's summary add: what is left is what went wrong. */
export function withoutProgress(stderr: string): string {
  return stderr.split(/\r\n|\r|\n/).filter(l => !NOISE.test(l)).join('\n')
}

// --- internal ---

/** `--progress` before `--`: simple-git would add it at the end, where git takes it for a refspec. */
function withProgress(args: readonly string[]): readonly string[] {
  if (args[0] !== 'fetch' || args.includes('--progress')) return args
  return [args[0], '--progress', ...args.slice(1)]
}
