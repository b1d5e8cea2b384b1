import { existsSync, realpathSync, statSync } from 'node:fs'
import { homedir, availableParallelism } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ConfigFile } from './schema.ts'
import { DEFAULT_AUTH, type AuthRule } from '../fetch/auth-rule.ts'
import { withholdFromChildren } from '../util/child-env.ts'
import { DEFAULT_REGISTRY_URL } from '../registry/base-url.ts'
import type { AnyTaskPlugin } from '../graph/plugin.ts'
import { formatPath, type Diagnostic } from '../spec/diagnostic.ts'
import { err, ok, type Result } from '../result.ts'

export type Source = 'flag' | 'env' | 'config' | 'default'

/** Flags that override configuration (all optional). */
export interface ConfigFlags {
  versionsDir?: string
  home?: string
  cacheRoot?: string
  modelsDir?: string
  offline?: boolean
  jobs?: number
  config?: string
}

/** Every setting in one validated object, plus where each value came from. */
export interface ResolvedConfig {
  configFile: string | undefined
  versionsDir: string
  /** A path, or a template with `{id}`; use {@link homeFor}. */
  home: string
  cacheRoot: string
  modelsDir: string
  offline: boolean
  /** The Comfy Registry API (COMFY_REGISTRY_URL, registry_url). */
  registryUrl: string
  concurrency: { git: number; network: number; cpu: number; total: number }
  auth: AuthRule[]
  installer: 'auto' | 'uv' | 'pip'
  linkMode: 'symlink' | 'hardlink' | 'copy'
  timeouts: { compileS: number; installS: number; downloadHeadersS: number; downloadBodyS: number }
  /** pip's `--timeout`/`--retries`, uv's UV_HTTP_CONNECT_TIMEOUT/UV_HTTP_RETRIES. */
  index: { timeoutS: number; retries: number }
  plugins: AnyTaskPlugin[]
  sources: Record<string, Source>
}

export const DEFAULT_HOME_LOCAL = '~/comfy-{id}'
export const DEFAULT_HOME_RUNPOD = '/workspace/ComfyUI'

/** The realized home of a version. */
export function homeFor(config: Pick<ResolvedConfig, 'home'>, id: string): string {
  return realPathOf(config.home.replaceAll('{id}', id))
}

/**
 * The path with every symlink in its existing part resolved: a home is known by where it really is, so its
 * lock, markers and records are one whichever link a run names it by (two realizes through a linked path would
 * otherwise run at once).
 */
export function realPathOf(path: string): string {
  const abs = resolve(path)
  try { return realpathSync(abs) } catch {
    const parent = dirname(abs)
    return parent === abs ? abs : join(realPathOf(parent), basename(abs))
  }
}

const statOrUndefined = (p: string) => { try { return statSync(p) } catch { return undefined } }

const expandHome = (p: string, home: string) => (p === '~' ? home : p.startsWith('~/') ? `${home}${p.slice(1)}` : p)

/** Loads cache.config.ts (when present) and merges flag, environment, config file and default, in that order. */
export async function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd: string): Promise<Result<ResolvedConfig, Diagnostic[]>> {
  const configPath = flags.config ?? env.COMFY_CONFIG ?? (existsSync(resolve(cwd, 'cache.config.ts')) ? 'cache.config.ts' : undefined)
  let file: ConfigFile = {}
  let configFile: string | undefined
  if (configPath) {
    configFile = resolve(cwd, configPath)
    const loaded = await loadConfigFile(configFile)
    if (!loaded.ok) return loaded
    file = loaded.value
  }
  const user = env.HOME || homedir()
  const fileDir = configFile ? dirname(configFile) : cwd
  const sources: Record<string, Source> = {}
  if (configFile) sources.configFile = flags.config ? 'flag' : env.COMFY_CONFIG ? 'env' : 'default'
  const pick = <T>(key: string, flag: T | undefined, envValue: T | undefined, fileValue: T | undefined, fallback: T): T => {
    if (flag !== undefined) { sources[key] = 'flag'; return flag }
    if (envValue !== undefined) { sources[key] = 'env'; return envValue }
    if (fileValue !== undefined) { sources[key] = 'config'; return fileValue }
    sources[key] = 'default'
    return fallback
  }
  // Flags and environment paths are relative to the working directory, config paths to the config file.
  const path = (key: string, flag: string | undefined, envValue: string | undefined, fileValue: string | undefined, fallback: string) => {
    const p = pick(key, flag, envValue || undefined, fileValue, fallback)
    const base = sources[key] === 'config' ? fileDir : cwd
    const expanded = expandHome(p, user)
    return isAbsolute(expanded) ? expanded : resolve(base, expanded)
  }
  const cacheRoot = path('cacheRoot', flags.cacheRoot, env.COMFY_CACHE_ROOT, file.cache_root, '~/.cache/comfy-vc')
  const defaultHome = env.RUNPOD_POD_ID ? DEFAULT_HOME_RUNPOD : DEFAULT_HOME_LOCAL
  const envOffline = offlineFromEnv(env.COMFY_OFFLINE)
  if (envOffline === 'bad') {
    return err([{ file: 'environment', path: 'COMFY_OFFLINE', message: `expected 1 or 0 (true/false, yes/no, on/off), got "${env.COMFY_OFFLINE}"` }])
  }
  for (const [flag, value] of [['--versions-dir', flags.versionsDir], ['--home', flags.home], ['--cache-root', flags.cacheRoot], ['--models-dir', flags.modelsDir]] as const) {
    if (value !== undefined && value.trim() === '') return err([{ file: 'command line', path: flag, message: 'is empty; give a folder, or leave the flag out' }])
  }
  // Set but empty is a mistake (an unset shell variable, a template left blank), not a request for the default.
  for (const name of ['COMFY_HOME', 'MODELS_DIR', 'COMFY_CACHE_ROOT', 'COMFY_VERSIONS_DIR'] as const) {
    if (env[name] !== undefined && env[name]!.trim() === '') return err([{ file: 'environment', path: name, message: 'is set but empty; give a folder, or unset it for the default' }])
  }
  const envInstaller = env.COMFY_INSTALLER as ResolvedConfig['installer'] | undefined
  if (envInstaller && !['auto', 'uv', 'pip'].includes(envInstaller)) {
    return err([{ file: 'environment', path: 'COMFY_INSTALLER', message: `expected "uv", "pip" or "auto", got "${envInstaller}"` }])
  }
  const registry = pick('registryUrl', undefined, env.COMFY_REGISTRY_URL || undefined, file.registry_url, DEFAULT_REGISTRY_URL)
  if (!/^https?:\/\/[^\s/]+/.test(registry)) {
    const where = sources.registryUrl === 'env' ? { file: 'environment', path: 'COMFY_REGISTRY_URL' } : { file: configFile ?? 'cache.config.ts', path: 'registry_url' }
    return err([{ ...where, message: `expected the Comfy Registry API's http(s) URL (default ${DEFAULT_REGISTRY_URL}), got "${registry}"` }])
  }
  const cpus = availableParallelism()
  const jobs = flags.jobs
  const limit = (n: number) => (jobs ? Math.min(n, jobs) : n)
  const config: ResolvedConfig = {
    configFile,
    versionsDir: path('versionsDir', flags.versionsDir, env.COMFY_VERSIONS_DIR, file.versions_dir, 'versions'),
    home: path('home', flags.home, env.COMFY_HOME, file.home, defaultHome),
    cacheRoot,
    modelsDir: path('modelsDir', flags.modelsDir, env.MODELS_DIR, file.models_dir, `${cacheRoot}/models`),
    offline: pick('offline', flags.offline || undefined, envOffline, file.offline, false),
    registryUrl: registry.replace(/\/+$/, ''),
    concurrency: {
      git: limit(file.concurrency?.git ?? 4),
      network: limit(file.concurrency?.network ?? 4),
      cpu: limit(file.concurrency?.cpu ?? cpus),
      total: jobs ?? Number.POSITIVE_INFINITY,
    },
    auth: pick('auth', undefined, undefined, file.auth?.map(r => ({ subdomains: true, header: 'authorization', ...r })), DEFAULT_AUTH),
    installer: pick('installer', undefined, envInstaller, file.installer, 'auto'),
    linkMode: pick('linkMode', undefined, undefined, file.link_mode, 'symlink'),
    timeouts: {
      compileS: file.timeouts?.compile_s ?? 300,
      installS: file.timeouts?.install_s ?? 1800,
      downloadHeadersS: file.timeouts?.download_headers_s ?? 30,
      downloadBodyS: file.timeouts?.download_body_s ?? 60,
    },
    index: { timeoutS: file.index?.timeout_s ?? 10, retries: file.index?.retries ?? 1 },
    plugins: file.plugins ?? [],
    sources,
  }
  const placeOf = (key: string, envName: string, flag: string, fileKey: string) =>
    sources[key] === 'flag' ? { file: 'command line', path: flag }
    : sources[key] === 'env' ? { file: 'environment', path: envName }
    : { file: configFile ?? 'default settings', path: fileKey }
  for (const [key, envName, flag, fileKey] of [['modelsDir', 'MODELS_DIR', '--models-dir', 'models_dir'], ['cacheRoot', 'COMFY_CACHE_ROOT', '--cache-root', 'cache_root']] as const) {
    const st = statOrUndefined(config[key])
    if (st && !st.isDirectory()) return err([{ ...placeOf(key, envName, flag, fileKey), message: `${config[key]} exists and is not a folder` }])
  }
  withholdFromChildren(config.auth.map(r => r.env))
  sources.concurrency = jobs ? 'flag' : file.concurrency ? 'config' : 'default'
  sources.timeouts = file.timeouts ? 'config' : 'default'
  sources.plugins = file.plugins ? 'config' : 'default'
  sources.index = file.index ? 'config' : 'default'
  return ok(config)
}

async function loadConfigFile(file: string): Promise<Result<ConfigFile, Diagnostic[]>> {
  const shown = file
  if (!existsSync(file)) return err([{ file: shown, path: '(root)', message: 'config file not found' }])
  let value: unknown
  try {
    const mod = await import(pathToFileURL(file).href) as { default?: unknown }
    if (!('default' in mod)) return err([{ file: shown, path: '(root)', message: 'has no default export; write `export default defineConfig({ ... })`' }])
    value = await mod.default
  } catch (e) {
    return err([{ file: shown, path: '(root)', message: `cannot load: ${loadError(e)}` }])
  }
  const { ConfigFileSchema } = await import('./schema.ts')
  let parsed
  try { parsed = ConfigFileSchema.safeParse(value) } catch (e) {
    return err([{ file: shown, path: '(root)', message: `cannot read its settings: ${(e as Error).message}` }])
  }
  if (!parsed.success) {
    return err(parsed.error.issues.map(i => ({ file: shown, path: formatPath(i.path), message: i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message })))
  }
  return ok(value as ConfigFile)
}

/** The useful line of an import failure: esbuild's `file:line:col: ERROR: …` when there is one, else the first line. */
function loadError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e)
  return message.split('\n').find(l => /ERROR:/.test(l))?.trim() ?? message.split('\n')[0]!
}

/** COMFY_OFFLINE: unset or empty is undefined; anything but the usual words for on and off is 'bad'. */
function offlineFromEnv(value: string | undefined): boolean | undefined | 'bad' {
  if (value === undefined || value === '') return undefined
  const v = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  return 'bad'
}
