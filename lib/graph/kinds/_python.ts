import { readFile, stat } from 'node:fs/promises'
import { nodeName } from '../../spec/names.ts'
import { TaskFailure, type TaskContext } from '../plugin.ts'
import { sha256 } from '../../util/hash.ts'
import { detectBackend, type Backend } from '../../python/backend.ts'
import type { CollectedDeps } from '../../python/collect.ts'
import { installedPackages, sitePackagesDirs } from '../../python/installed.ts'
import { baseSitePackagesDirs, listDistributions, type Distribution } from '../../python/distributions.ts'
import { resolveTorchBackend } from '../../python/torch-backend.ts'
import { readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'

// What the Python kinds share. The modules that start processes (venv, compile, install, install scripts) are
// imported inside `run`: a no-op realize only discovers and checks outputs, and should not pay for loading them.

export const pathOf = (ctx: Pick<TaskContext, 'processEnv'>): string => ctx.processEnv.PATH ?? ''

/** uv or pip, found from files only (a no-op realize starts no Python process). */
export function backendFor(ctx: Pick<TaskContext, 'config' | 'env' | 'processEnv'>): Backend {
  const b = detectBackend(ctx.config.installer, homeLayout(ctx.env.home).venv, pathOf(ctx))
  if (!b.ok) throw new TaskFailure(b.error)
  return b.value
}

/** The environment the venv task made; a task after it fails plainly when it is gone. */
export function madeVenv(ctx: Pick<TaskContext, 'env'>) {
  const dir = homeLayout(ctx.env.home).venv
  const v = readVenv(dir)
  if (!v) throw new TaskFailure(`no Python environment at ${dir}; the venv task should have made it`)
  return v
}

export const readIfExists = (path: string): Promise<Uint8Array | undefined> => readFile(path).catch(() => undefined)

/** The enabled nodes, by the folder names their requirements are read from. */
export const enabledNodeNames = (ctx: Pick<TaskContext, 'spec'>): string[] => ctx.spec.custom_nodes.filter(n => n.enabled).map(n => nodeName(n))

/**
 * Reads every enabled node's requirements.txt and the core's, and applies the spec's rules. Pure but
 * for file reads, and cheap: both collect-deps and uv-compile call it, so that no file in the home
 * has to hold the raw result (node index URLs may carry credentials).
 */
export async function collectFor(ctx: TaskContext): Promise<CollectedDeps> {
  const home = homeLayout(ctx.env.home)
  const nodes = await Promise.all(enabledNodeNames(ctx).map(async name => ({ name, text: await readIfExists(home.nodeRequirements(name)) })))
  // The collection rules are loaded when a task runs: a no-op only hashes the files (discover).
  const { collectRequirements } = await import('../../python/collect.ts')
  return collectRequirements({
    nodes, coreText: await readIfExists(home.coreRequirements),
    rules: ctx.spec.python, installed: installedPackages(home.venv),
  })
}

export async function collectedHash(c: CollectedDeps): Promise<string> {
  const { renderConstraints, renderRequirementsIn } = await import('../../python/collect.ts')
  return sha256(`${renderRequirementsIn(c)}\n--\n${renderConstraints(c)}\n--\n${[...c.indexUrls, ...c.extraIndexUrls].join('\n')}`)
}

/**
 * Which environment is at `.venv`: its pyvenv.cfg, written once when the environment is made and new
 * whenever it is made again (deleted by a user, or left half-made by a killed run). The venv task's
 * inputs stay the same then, so without this uv-install and install scripts would be skipped for an
 * empty environment. A stat, no process.
 */
export async function venvIdentity(home: string): Promise<string | null> {
  const st = await stat(`${homeLayout(home).venv}/pyvenv.cfg`, { bigint: true }).catch(() => undefined)
  return st ? `${st.dev}:${st.ino}:${st.mtimeNs}` : null
}

/**
 * What is installed where the environment looks (files only): its own site-packages and, with
 * python.system_site_packages, the base interpreter's.
 */
export function installedFor(ctx: Pick<TaskContext, 'env' | 'spec'>): { environment: Distribution[]; base: Distribution[] } {
  const dir = homeLayout(ctx.env.home).venv
  const v = readVenv(dir)
  return {
    environment: listDistributions(sitePackagesDirs(dir)),
    base: ctx.spec.python.system_site_packages && v?.systemSitePackages ? listDistributions(baseSitePackagesDirs(v.home, v.version)) : [],
  }
}

/** The options every installer step takes from the task's context (`torch_backend: "auto"` decided here, see resolveTorchBackend). */
export const stepOptions = (ctx: TaskContext, backend: Backend, venvPython: string, timeoutS: number) => ({
  backend, venvPython, rules: { ...ctx.spec.python, torch_backend: resolveTorchBackend(ctx.spec.python.torch_backend) }, offline: ctx.config.offline, cacheRoot: ctx.env.cacheRoot,
  timeoutMs: timeoutS * 1000, signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv }, baseDir: ctx.config.versionsDir,
  ...(ctx.config.index ? { index: ctx.config.index } : {}),
})
