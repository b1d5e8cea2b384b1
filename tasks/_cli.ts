import { parseArgs, type ParseArgsConfig } from 'node:util'
import { statSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve as resolvePath } from 'node:path'
import { resolveConfig, type ConfigFlags, type ResolvedConfig } from '../lib/config/resolve.ts'
import { renderDiagnostic, type Diagnostic } from '../lib/spec/diagnostic.ts'
import { errorsDocument } from '../lib/report/run-document.ts'
import { closest } from '../lib/util/closest.ts'

/** Exit codes of the contract. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const

/** Where a command writes: progress and messages go to stderr, results to stdout. */
export interface Io {
  out(text: string): void
  err(text: string): void
  env: NodeJS.ProcessEnv
  cwd: string
  /** Aborted on the first Ctrl-C / SIGTERM. */
  signal: AbortSignal
  isTTY: boolean
  /** Where the task display renders (stderr: stdout is kept for --json). */
  progressStream: NodeJS.WriteStream
  /** Watch mode prints JSON lines: every document on one line. */
  jsonLines?: boolean
}

type Options = NonNullable<ParseArgsConfig['options']>

export interface Command {
  name: string
  summary: string
  /** Full --help text (without the common options, which are appended). */
  help: string
  options: Options
  /** Whether the command takes the location flags (--versions-dir, --home, ...). */
  locations?: boolean
  allowPositionals?: number
  /**
   * The JSON document that reports a failure, for a command whose stdout is always one (run-handler's
   * `{"error", "details"}`); other commands print `{"ok": false, "errors": [...]}`, and only with --json.
   */
  errorDocument?(error: string, details: string[]): unknown
  run(args: ParsedArgs, io: Io): Promise<number>
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>
  positionals: string[]
  /** Everything after a bare `--`. */
  rest: string[]
}

/** A mistake in how the command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {}

export const LOCATION_OPTIONS: Options = {
  'versions-dir': { type: 'string' },
  home: { type: 'string' },
  'cache-root': { type: 'string' },
  'models-dir': { type: 'string' },
  config: { type: 'string' },
}

export const LOCATION_HELP = `
Locations (flag, then environment, then cache.config.ts, then default):
  --versions-dir DIR   where specs live (COMFY_VERSIONS_DIR; default ./versions)
  --home DIR           where the version is realized (COMFY_HOME; default ~/comfy-<id>,
                       /workspace/ComfyUI when RUNPOD_POD_ID is set)
  --cache-root DIR     git mirrors, locks, compiled requirements (COMFY_CACHE_ROOT; default ~/.cache/comfy-vc)
  --models-dir DIR     the content-addressed model store (MODELS_DIR; default <cache-root>/models)
  --config FILE        the config file (COMFY_CONFIG; default ./cache.config.ts when present)`

export const COMMON_HELP = `
  --json               print one JSON document on stdout (progress goes to stderr)
  -h, --help           show this help

Exit codes: 0 success, 1 a task or job failed, 2 usage, spec or config error (nothing changed), 130 interrupted.`

export function parseCommandArgs(cmd: Command, argv: string[]): ParsedArgs {
  const dash = argv.indexOf('--')
  const own = dash >= 0 ? argv.slice(0, dash) : argv
  const rest = dash >= 0 ? argv.slice(dash + 1) : []
  const options: Options = { ...cmd.options, ...(cmd.locations ? LOCATION_OPTIONS : {}), json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }
  try {
    const { values, positionals } = parseArgs({
      args: own,
      options,
      allowPositionals: true,
      strict: true,
    })
    if (!values.help && positionals.length > (cmd.allowPositionals ?? 0)) {
      throw new UsageError(`unexpected argument "${positionals[cmd.allowPositionals ?? 0]}"`)
    }
    return { values: values as ParsedArgs['values'], positionals, rest }
  } catch (e) {
    if (e instanceof UsageError) throw e
    if ((e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(unknownOption(e as Error, options))
    // node:util's messages are clear enough once the internal error code prefix is gone.
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''))
  }
}

/** "unknown option --froze; did you mean --frozen?", or the options there are when none is close. */
function unknownOption(e: Error, options: Options): string {
  const given = /'([^']+)'/.exec(e.message)?.[1] ?? e.message
  const flags = Object.keys(options).map(k => `--${k}`)
  const name = given.split('=')[0]!
  const near = closest(name.startsWith('--') ? name : `--${name.replace(/^-+/, '')}`, flags)
  const value = given.includes('=') ? given.slice(given.indexOf('=')) : ''
  return near ? `unknown option ${name}; did you mean ${near}${value}?` : `unknown option ${name}; this command takes ${flags.join(', ')}`
}

export const str = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.values[name]
  return typeof v === 'string' ? v : undefined
}
export const bool = (args: ParsedArgs, name: string): boolean => args.values[name] === true
export const list = (args: ParsedArgs, name: string): string[] => {
  const v = args.values[name]
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []
}
export function int(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = str(args, name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} takes a whole number from ${min} to ${max}, got "${v}"`)
  return n
}

/** The version id positional, checked against the contract's pattern. */
export function versionId(args: ParsedArgs, index = 0, what = '<id>'): string {
  const id = args.positionals[index]
  if (!id) throw new UsageError(`missing ${what}`)
  return checkedVersionId(id)
}

/** `id` when it can name a version (a file name and a home), else a usage error saying what may be used. */
export function checkedVersionId(id: string, flag = ''): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) throw new UsageError(`${flag ? `${flag} ` : ''}"${id}" is not a valid version id: use lowercase letters, digits, ".", "_" and "-" (at most 64 characters)`)
  return id
}

/** Prints diagnostics, one line each, and returns exit code 2. */
export function reportDiagnostics(io: Io, diagnostics: Diagnostic[], json: boolean, extra: Record<string, unknown> = {}): number {
  for (const d of diagnostics) io.err(renderDiagnostic(d, io.cwd))
  if (json) printJson(io, errorsDocument(diagnostics.map(d => renderDiagnostic(d, io.cwd)), extra))
  return EXIT.usage
}

/** A folder the command will write into: refused before any work when a file stands at it or above it. */
export function writableDirArg(io: Io, flag: string, value: string): string {
  const path = resolvePath(io.cwd, value)
  for (let p = path; ; p = dirname(p)) {
    let st
    try { st = statSync(p, { throwIfNoEntry: false }) } catch { st = undefined } // ENOTDIR: a file above; found next
    if (st) {
      if (!st.isDirectory()) throw new UsageError(`${flag} ${value}: ${p === path ? 'is a file, not a folder' : `${p} is a file, not a folder`}`)
      return path
    }
    if (dirname(p) === p) return path
  }
}

/** An address to listen on: an IP address or a host name (checked before anything is realized). */
export function listenArg(args: ParsedArgs): string | undefined {
  const value = str(args, 'listen')
  if (value === undefined) return undefined
  if (!isIP(value) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) {
    throw new UsageError(`--listen takes an IP address or a host name (127.0.0.1, 0.0.0.0, ::), got "${value}"`)
  }
  return value
}

/** A request the command turns down before changing anything: the reasons on stderr (and with --json as a document), exit 2. */
export function refuse(io: Io, json: boolean, reasons: string | string[], extra: Record<string, unknown> = {}): number {
  const errors = typeof reasons === 'string' ? [reasons] : reasons
  for (const e of errors) io.err(e)
  if (json) printJson(io, errorsDocument(errors, extra))
  return EXIT.usage
}

export function printJson(io: Io, value: unknown): void {
  io.out(`${io.jsonLines ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`)
}

/** The configuration for a command, from its location flags, the environment and cache.config.ts. */
export async function configFor(args: ParsedArgs, io: Io, extra: Partial<ConfigFlags> = {}): Promise<ResolvedConfig | Diagnostic[]> {
  const flags: ConfigFlags = {
    versionsDir: str(args, 'versions-dir'),
    home: str(args, 'home'),
    cacheRoot: str(args, 'cache-root'),
    modelsDir: str(args, 'models-dir'),
    config: str(args, 'config'),
    ...extra,
  }
  const r = await resolveConfig(flags, io.env, io.cwd)
  return r.ok ? r.value : r.error
}
