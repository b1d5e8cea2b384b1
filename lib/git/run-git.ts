import { exec, describeFailure, type ChildEnv, type ExecResult } from '../util/exec.ts'
import { redact } from '../util/redact.ts'

/**
 * What every git process of a run is started with: the run's environment (a task's `processEnv`, the CLI's
 * `io.env`; never the process's) and the run's signal, which stops it.
 */
export interface GitRun {
  env: ChildEnv
  signal?: AbortSignal
}

/** Variables that would point git at another repository than the one we name. */
const REPO_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_PREFIX']

/**
 * The environment of every git process, made from the run's: it never prompts. An empty GIT_ASKPASS also hides
 * core.askPass and SSH_ASKPASS from git; ssh gets BatchMode unless the user set their own command.
 * LC_ALL=C keeps git's messages in the language of ours.
 */
export function gitEnv(base: ChildEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !REPO_VARS.includes(k)) env[k] = v
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '', SSH_ASKPASS_REQUIRE: 'never',
    GCM_INTERACTIVE: 'never', LC_ALL: 'C',
    // A partial mirror's missing blobs are fetched by the tool, on purpose (tree-blobs.ts), never behind its back (git ≥ 2.44).
    GIT_NO_LAZY_FETCH: '1',
  })
  if (!env.GIT_SSH_COMMAND && !env.GIT_SSH) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes'
  return env
}

export interface RunGitOptions extends GitRun {
  cwd?: string
  input?: string
}

/** Runs `git` with {@link gitEnv} of the run's environment; never throws for a failed command. */
export function runGit(args: readonly string[], opts: RunGitOptions): Promise<ExecResult> {
  return exec('git', args, { cwd: opts.cwd, signal: opts.signal, input: opts.input, env: gitEnv(opts.env) })
}

/** How a git command failed, redacted, for a problem's `detail`. */
export function gitFailure(r: ExecResult): string {
  return redact(describeFailure(r, 6))
}
