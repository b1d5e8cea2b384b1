import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { basename, delimiter, dirname, join } from 'node:path'
import { err, ok, type Result } from '../result.ts'
import { compareVersionText } from './pep440.ts'

/** A Python interpreter found without running it. */
export interface Interpreter {
  /** Where it was found (on PATH, or resolved through a pyenv shim). */
  path: string
  realpath: string
  /** `3.11`; undefined when neither its name nor its files tell. */
  version: string | undefined
  /** `3.11.7` when its files tell (pyvenv.cfg, a pyenv folder name). */
  fullVersion?: string
  /** realpath, size and mtime: changes when the interpreter is replaced or upgraded. */
  identity: string
}

/**
 * Finds `python3.X` (or `python3` without a version) on PATH by looking at files only, so a
 * fingerprint can use it without starting a process. pyenv shims are scripts that may point
 * to nothing; they are resolved to `<pyenv root>/versions/<v>/bin/…` or passed over.
 */
export function discoverInterpreter(version: string | undefined, envPATH: string): Result<Interpreter, string> {
  const name = version ? `python${version}` : 'python3'
  const dirs = envPATH.split(delimiter).filter(Boolean)
  for (const dir of dirs) {
    const candidate = join(dir, name)
    if (!isExecutable(candidate)) continue
    const target = isPyenvShim(candidate) ? throughPyenv(dirname(dir), name, version) : candidate
    if (!target) continue
    const found = describe(target)
    if (found && (!version || found.version === version)) return ok(found)
  }
  const hint = version ? `Install Python ${version}, or change python.version in the spec` : 'Install Python 3, or set python.version in the spec'
  return err(`Python ${version ?? '3'} was not found: no usable ${name} on PATH (searched ${dirs.length} folders). ${hint}.`)
}

/** What an existing environment says about itself in pyvenv.cfg; undefined when there is none. */
export function readVenv(venvDir: string): { python: string; version: string | undefined; fullVersion?: string; home?: string; systemSitePackages: boolean } | undefined {
  const python = venvPython(venvDir)
  let cfg: Record<string, string>
  try { cfg = parseCfg(readFileSync(join(venvDir, 'pyvenv.cfg'), 'utf8')) } catch { return undefined }
  if (!existsSync(python)) return undefined
  const full = cfg.version ?? cfg.version_info
  const mm = full ? /^(\d+\.\d+)/.exec(full)?.[1] : undefined
  return { python, version: mm, ...(full ? { fullVersion: full } : {}), ...(cfg.home ? { home: cfg.home } : {}), systemSitePackages: /^true$/i.test(cfg['include-system-site-packages'] ?? '') }
}

/** The interpreter inside an environment. */
export const venvPython = (venvDir: string, platform: NodeJS.Platform = process.platform): string =>
  platform === 'win32' ? join(venvDir, 'Scripts', 'python.exe') : join(venvDir, 'bin', 'python')

/** The folder with an environment's scripts (`bin`, `Scripts` on Windows). */
export const venvBin = (venvDir: string, platform: NodeJS.Platform = process.platform): string =>
  join(venvDir, platform === 'win32' ? 'Scripts' : 'bin')

// --- internal ---

function describe(path: string): Interpreter | undefined {
  let realpath: string, size: number, mtimeMs: number
  try {
    realpath = realpathSync(path)
    const st = statSync(realpath)
    size = st.size; mtimeMs = st.mtimeMs
  } catch { return undefined }
  const fromName = versionFromName(basename(path)) ?? versionFromName(basename(realpath))
  const cfg = readCfg(join(dirname(dirname(path)), 'pyvenv.cfg'))
  const cfgFull = cfg?.version ?? cfg?.version_info
  const pyenvFull = /\/versions\/(\d+\.\d+\.\d+)\//.exec(realpath)?.[1]
  const full = cfgFull ?? pyenvFull
  const version = fromName ?? (full ? /^(\d+\.\d+)/.exec(full)?.[1] : undefined) ?? versionFromLib(realpath)
  return { path, realpath, version, ...(full && version && full.startsWith(`${version}.`) ? { fullVersion: full } : {}), identity: `${realpath}:${size}:${Math.round(mtimeMs)}` }
}

const versionFromName = (file: string): string | undefined => /^python(\d+\.\d+)(?:\.exe)?$/.exec(file)?.[1]

// /usr/bin/python3 -> /usr/lib/python3.11/os.py: the prefix's one standard library names the version.
function versionFromLib(realpath: string): string | undefined {
  const lib = join(dirname(dirname(realpath)), 'lib')
  let found: string[] = []
  try { found = readdirSync(lib).filter(d => /^python\d+\.\d+$/.test(d) && existsSync(join(lib, d, 'os.py'))) } catch { return undefined }
  return found.length === 1 ? found[0]!.slice('python'.length) : undefined
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false
    accessSync(p, constants.X_OK)
    return true
  } catch { return false }
}

function isPyenvShim(p: string): boolean {
  if (basename(dirname(p)) !== 'shims') return false
  try {
    const head = readFileSync(p, { encoding: 'utf8', flag: 'r' }).slice(0, 2048)
    return head.startsWith('#!') && head.includes('pyenv')
  } catch { return false }
}

/**
 * What a pyenv shim would run: for `python3.X`, the newest installed 3.X (the global version
 * first when it matches); for `python3`, the global version from `<root>/version`.
 */
function throughPyenv(root: string, name: string, version: string | undefined): string | undefined {
  const versionsDir = join(root, 'versions')
  let installed: string[]
  try { installed = readdirSync(versionsDir) } catch { return undefined }
  let global: string[] = []
  try { global = readFileSync(join(root, 'version'), 'utf8').split(/\s+/).filter(Boolean) } catch { /* no global version */ }
  if (!version) {
    // Plain python3 follows the global version; "system" means the next PATH entry.
    for (const v of global) {
      if (v === 'system') return undefined
      const p = join(versionsDir, v, 'bin', name)
      if (isExecutable(p)) return p
    }
    return undefined
  }
  const ordered = [
    ...global.filter(v => installed.includes(v)),
    ...installed.filter(v => !global.includes(v)).sort((a, b) => (compareVersionText(b, a) ?? b.localeCompare(a))),
  ]
  for (const v of ordered) {
    if (!(v === version || v.startsWith(`${version}.`))) continue
    const p = join(versionsDir, v, 'bin', name)
    if (isExecutable(p)) return p
  }
  return undefined
}

function readCfg(path: string): Record<string, string> | undefined {
  try { return parseCfg(readFileSync(path, 'utf8')) } catch { return undefined }
}

function parseCfg(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (m) out[m[1]!.toLowerCase()] = m[2]!
  }
  return out
}
