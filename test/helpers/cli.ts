/**
 * Runs the real CLI (`tasks/index.ts` under tsx) as a child process in a temporary world.
 *
 *   const w = await makeWorld()               // temp dir with versions/, cache/, homes/
 *   const r = await w.cli(['realize', 'demo', '--json'], { env: { COMFY_OFFLINE: '1' } })
 *   r.code, r.stdout, r.stderr, r.json()
 *   await w.cleanup()
 *
 *   const w2 = await makeWorld('x-', { sharedCache: mirrors })   // git mirrors warmed once, models of its own
 *
 * The environment is scrubbed of CI and COMFY_* variables so the host's settings never leak in;
 * HOME points into the world so defaults (~/.cache/comfy-vc, ~/comfy-<id>) stay inside it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const TSX = import.meta.resolve('tsx')
const ENTRY = join(ROOT, 'tasks', 'index.ts')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json<T = any>(): T
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  timeoutMs?: number
  input?: string
  /** Its own process group, so a test can kill it with every child (`process.kill(-pid)`). */
  detached?: boolean
}

export interface World {
  dir: string
  versions: string
  cache: string
  /** Home of a version when COMFY_HOME is not set: `<dir>/homes/<id>`. */
  home(id: string): string
  env: Record<string, string>
  cli(args: string[], opts?: CliOptions): Promise<CliResult>
  /** Starts the CLI and returns the child, for tests that signal or kill it. */
  spawn(args: string[], opts?: CliOptions): ChildProcess
  writeSpec(id: string, spec: unknown): Promise<string>
  cleanup(): Promise<void>
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'CI' || k.startsWith('COMFY_') || k === 'MODELS_DIR' || k === 'HF_TOKEN' || k === 'CIVITAI_TOKEN' || k === 'RUNPOD_POD_ID' || k.startsWith('npm_')) continue
    env[k] = v
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v; else delete env[k]
  return env
}

export interface WorldOptions {
  /**
   * A cache root several worlds share (git mirrors filled once, read with --offline); the world keeps its own model
   * store (MODELS_DIR), whose blobs realize links into its homes.
   */
  sharedCache?: string
}

export async function makeWorld(prefix = 'comfy-vc-test-', o: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const versions = join(dir, 'versions')
  const cache = o.sharedCache ?? join(dir, 'cache')
  await mkdir(versions, { recursive: true })
  const env = cleanEnv({
    HOME: join(dir, 'user'), COMFY_CACHE_ROOT: cache, COMFY_VERSIONS_DIR: versions, COMFY_HOME: join(dir, 'homes', '{id}'),
    ...(o.sharedCache ? { MODELS_DIR: join(dir, 'models') } : {}),
  })
  const spawnCli = (args: string[], opts: CliOptions = {}) =>
    spawn(process.execPath, ['--import', TSX, ENTRY, ...args], { cwd: opts.cwd ?? dir, env: { ...env, ...cleanUndefined(opts.env) }, stdio: ['pipe', 'pipe', 'pipe'], detached: !!opts.detached })
  return {
    dir, versions, cache, env,
    home: id => join(dir, 'homes', id),
    spawn: spawnCli,
    cli: (args, opts = {}) => collect(spawnCli(args, opts), opts),
    async writeSpec(id, spec) {
      const file = join(versions, `${id}.json`)
      await writeFile(file, typeof spec === 'string' ? spec : `${JSON.stringify(spec, null, 2)}\n`)
      return file
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

const cleanUndefined = (env: Record<string, string | undefined> = {}) =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))

export function collect(child: ChildProcess, opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    let stdout = '', stderr = ''
    child.stdout!.setEncoding('utf8').on('data', d => { stdout += d })
    child.stderr!.setEncoding('utf8').on('data', d => { stderr += d })
    child.stdin!.end(opts.input ?? '')
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`CLI timed out after ${opts.timeoutMs ?? 120_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`)) }, opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({
        code, signal, stdout, stderr,
        json() {
          try { return JSON.parse(stdout) } catch { throw new Error(`stdout is not JSON:\n${stdout}\nstderr:\n${stderr}`) }
        },
      })
    })
  })
}
