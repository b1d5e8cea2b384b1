import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { devNull } from 'node:os'
import { cacheLayout } from '../layout/cache.ts'
import { err, ok, type Result } from '../result.ts'
import { venvPython } from './interpreter.ts'
import { sitePackagesDirs } from './installed.ts'

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
 * Picks uv or pip the way `installer` (COMFY_INSTALLER) says, without starting a process:
 * uv is `python -m uv` when the environment has a `uv-*.dist-info`, else `uv` on PATH; pip is
 * always the environment's own `python -m pip`. `auto` takes uv when there is one.
 */
export function detectBackend(installer: 'auto' | 'uv' | 'pip', venvDir: string, envPATH: string): Result<Backend, string> {
  if (installer !== 'pip') {
    const uv = findUv(venvDir, envPATH)
    if (uv) return ok(uv)
    if (installer === 'uv') {
      return err('the installer is set to uv (COMFY_INSTALLER=uv or installer: "uv") but uv was not found: '
        + 'neither `python -m uv` in the environment nor `uv` on PATH. Install uv, or use COMFY_INSTALLER=pip.')
    }
  }
  const pipVersion = distInfoVersion(sitePackagesDirs(venvDir), 'pip')
  const version = pipVersion ?? 'unknown'
  return ok({ kind: 'pip', command: [venvPython(venvDir), '-m', 'pip'], version, label: pipVersion ? `pip ${pipVersion}` : 'pip' })
}

/**
 * The environment for resolver and installer processes. The spec decides indexes, so settings
 * that would add or replace them (PIP_ and UV_ variables, pip.conf, uv.toml) are left out: the
 * compile cache is keyed by the spec, and an ambient index would make its entries lie.
 */
export function backendEnv(base: NodeJS.ProcessEnv, cacheRoot: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !DROPPED.has(k)) env[k] = v
  env.PIP_CONFIG_FILE = devNull
  env.PIP_DISABLE_PIP_VERSION_CHECK = '1'
  env.PIP_NO_INPUT = '1'
  env.UV_NO_CONFIG = '1'
  env.UV_CACHE_DIR = cacheLayout(cacheRoot).uv
  return env
}

/** A hint for an environment without pip (made by `uv venv`) asked to run pip; empty otherwise. */
export function missingPipHint(backend: Pick<Backend, 'kind'>, output: string): string {
  return backend.kind === 'pip' && /No module named pip/.test(output)
    ? ' (the environment has no pip, probably because uv made it: use COMFY_INSTALLER=uv, or delete the .venv folder to make it again with pip)'
    : ''
}

// --- internal ---

const DROPPED = new Set([
  'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_NO_INDEX', 'PIP_CONSTRAINT', 'PIP_REQUIREMENT',
  'PIP_TRUSTED_HOST', 'PIP_PRE', 'PIP_CONFIG_FILE', 'PIP_USER', 'PIP_TARGET', 'PIP_PREFIX',
  'UV_INDEX_URL', 'UV_EXTRA_INDEX_URL', 'UV_INDEX', 'UV_DEFAULT_INDEX', 'UV_FIND_LINKS', 'UV_NO_INDEX',
  'UV_CONSTRAINT', 'UV_OVERRIDE', 'UV_TORCH_BACKEND', 'UV_EXCLUDE_NEWER', 'UV_PYTHON', 'UV_SYSTEM_PYTHON',
  'UV_PRERELEASE', 'UV_RESOLUTION', 'UV_INDEX_STRATEGY', 'UV_CONFIG_FILE',
  'PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'CONDA_PREFIX',
])

function findUv(venvDir: string, envPATH: string): Backend | undefined {
  const inVenv = distInfoVersion(sitePackagesDirs(venvDir), 'uv')
  if (inVenv) return { kind: 'uv', command: [venvPython(venvDir), '-m', 'uv'], version: inVenv, label: `uv ${inVenv}` }
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
