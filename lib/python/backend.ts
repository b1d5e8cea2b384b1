import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { devNull } from 'node:os'
import { cacheLayout } from '../layout/cache.ts'
import { err, ok, type Result } from '../result.ts'
import { venvPython } from './interpreter.ts'
import { sitePackagesDirs } from './installed.ts'
import { readVenvMarker } from './venv-marker.ts'

/** The program that resolves and installs Python packages. */
export interface Backend {
  kind: 'uv' | 'pip'
  /** The program and its leading arguments: `[uv]`, `[python, -m, uv]` or `[python, -m, pip]`. */
  command: string[]
  /** From files only: a `*.dist-info` folder name, or the uv binary's identity. Part of fingerprints. */
  version: string
  /** For plan and realize output, e.g. "uv 0.5.1" or "pip 23.2.1". */
  label: string
}

/**
 * Picks uv or pip the way `installer` (COMFY_INSTALLER) says, without starting a process. `auto` keeps the backend
 * the environment was made with (recorded in its marker), and otherwise takes `uv` on PATH when there is one, else
 * pip: a uv that a node's requirements put inside .venv (ComfyUI-Manager's do) never takes over silently. `uv` takes
 * `python -m uv` from the environment first, then `uv` on PATH. pip is always the environment's own `python -m pip`.
 */
export function detectBackend(installer: 'auto' | 'uv' | 'pip', venvDir: string, envPATH: string): Result<Backend, string> {
  const recorded = installer === 'auto' ? readVenvMarker(venvDir)?.backend : undefined
  if (installer === 'uv' || (installer === 'auto' && recorded !== 'pip')) {
    const uv = findUv(installer === 'uv' ? venvDir : undefined, envPATH)
    if (uv) return ok(uv)
    if (installer === 'uv') {
      return err('the installer is set to uv (COMFY_INSTALLER=uv or installer: "uv") but uv was not found: '
        + 'neither `python -m uv` in the environment nor `uv` on PATH. Install uv, or use COMFY_INSTALLER=pip.')
    }
    if (recorded === 'uv') {
      return err(`the environment ${venvDir} was made with uv, and uv is not on PATH any more; put it back on PATH, `
        + 'or set COMFY_INSTALLER=pip to go on with pip (uv venv --seed gave the environment pip), or COMFY_INSTALLER=uv to use a uv inside .venv')
    }
  }
  const pipVersion = distInfoVersion(sitePackagesDirs(venvDir), 'pip')
  const version = pipVersion ?? 'unknown'
  return ok({ kind: 'pip', command: [venvPython(venvDir), '-m', 'pip'], version, label: pipVersion ? `pip ${pipVersion}` : 'pip' })
}

/**
 * The environment for resolver and installer processes (the rule is the table in docs/tech.md, "Ambient pip and uv
 * settings"): every `PIP_*` and `UV_*` variable is removed except those in {@link PASSED}, which only change how
 * files are fetched or shown, never what is chosen, and are part of the compile key all the same ({@link ambientKey}).
 * pip.conf and uv.toml are not read. The spec alone decides what a lock holds, and the lock is cached by it.
 */
export function backendEnv(base: NodeJS.ProcessEnv, cacheRoot: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !DROPPED.has(k) && (!/^(PIP|UV)_/.test(k) || PASSED.has(k))) env[k] = v
  env.PIP_CONFIG_FILE = devNull
  env.PIP_DISABLE_PIP_VERSION_CHECK = '1'
  env.PIP_NO_INPUT = '1'
  env.UV_NO_CONFIG = '1'
  env.UV_CACHE_DIR = cacheLayout(cacheRoot).uv
  return env
}

/** The ambient `PIP_*` / `UV_*` settings that reach the child ({@link PASSED}), for the compile key. */
export function ambientKey(base: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of [...PASSED].sort()) if (base[k] !== undefined) out[k] = base[k]!
  return out
}

/** The ambient `PIP_*` / `UV_*` settings passed to pip and uv: transport and display, not resolution. */
export const PASSED: ReadonlySet<string> = new Set([
  'PIP_CERT', 'PIP_CLIENT_CERT', 'PIP_PROXY', 'PIP_DEFAULT_TIMEOUT', 'PIP_PROGRESS_BAR', 'PIP_NO_COLOR', 'PIP_KEYRING_PROVIDER',
  'UV_NATIVE_TLS', 'UV_HTTP_TIMEOUT', 'UV_CONCURRENT_DOWNLOADS', 'UV_CONCURRENT_BUILDS', 'UV_CONCURRENT_INSTALLS',
  'UV_NO_PROGRESS', 'UV_LINK_MODE', 'UV_KEYRING_PROVIDER', 'UV_PYTHON_INSTALL_DIR',
])

/** A hint for an environment without pip (made by `uv venv`) asked to run pip; empty otherwise. */
export function missingPipHint(backend: Pick<Backend, 'kind'>, output: string): string {
  return backend.kind === 'pip' && /No module named pip/.test(output)
    ? ' (the environment has no pip, probably because uv made it: use COMFY_INSTALLER=uv, or delete the .venv folder to make it again with pip)'
    : ''
}

// --- internal ---

// Besides every PIP_ and UV_ variable not in PASSED: what would make the child load other code or install elsewhere.
const DROPPED = new Set(['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'CONDA_PREFIX'])

function findUv(venvDir: string | undefined, envPATH: string): Backend | undefined {
  const inVenv = venvDir ? distInfoVersion(sitePackagesDirs(venvDir), 'uv') : undefined
  if (venvDir && inVenv) return { kind: 'uv', command: [venvPython(venvDir), '-m', 'uv'], version: inVenv, label: `uv ${inVenv}` }
  for (const dir of envPATH.split(delimiter).filter(Boolean)) {
    const p = join(dir, process.platform === 'win32' ? 'uv.exe' : 'uv')
    try {
      if (!statSync(p).isFile()) continue
      accessSync(p, constants.X_OK)
    } catch { continue }
    const real = realpathSync(p)
    // `pip install uv` puts the binary in <prefix>/bin and its dist-info in <prefix>/lib/pythonX.Y/site-packages.
    const version = distInfoVersion(sitePackagesDirs(dirname(dirname(real))), 'uv')
    if (version) return { kind: 'uv', command: [p], version, label: `uv ${version}` }
    const st = statSync(real)
    return { kind: 'uv', command: [p], version: `binary:${real}:${st.size}:${Math.round(st.mtimeMs)}`, label: `uv (${p})` }
  }
  return undefined
}

function distInfoVersion(dirs: string[], name: string): string | undefined {
  const re = new RegExp(`^${name}-([^-]+)\\.dist-info$`, 'i')
  for (const dir of dirs) {
    let entries: string[]
    try { entries = readdirSync(dir) } catch { continue }
    for (const e of entries) {
      const m = re.exec(e)
      if (m) return m[1]
    }
  }
  return undefined
}
