import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { nodeName } from '../../spec/names.ts'
import { TaskFailure, type Json, type TaskContext, type TaskPlugin } from '../plugin.ts'
import { sha256 } from '../../util/hash.ts'
import { discoverInterpreter, readVenv } from '../../python/interpreter.ts'
import { detectBackend, type Backend } from '../../python/backend.ts'
import type { CollectedDeps } from '../../python/collect.ts'
import { downgradeInputs } from '../../python/downgrade.ts'
import { installedPackages } from '../../python/installed.ts'
import { nodeDir } from './clone-node.ts'

/** The version's one Python environment lives in the home. */
export const venvDirOf = (home: string): string => join(home, '.venv')

// The modules that start processes (venv, compile, install, install scripts) are imported inside `run`:
// a no-op realize only discovers and checks outputs, and should not pay for loading them.

const PATH = (ctx: Pick<TaskContext, 'processEnv'>) => ctx.processEnv.PATH ?? ''

/** uv or pip, found from files only (a no-op realize starts no Python process). */
export function backendFor(ctx: Pick<TaskContext, 'config' | 'env' | 'processEnv'>): Backend {
  const b = detectBackend(ctx.config.installer, venvDirOf(ctx.env.home), PATH(ctx))
  if (!b.ok) throw new TaskFailure(b.error)
  return b.value
}

const record = (v: Json | undefined): Record<string, Json | undefined> =>
  v && typeof v === 'object' && !Array.isArray(v) ? v : {}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  return readFile(path).catch(() => undefined)
}

/**
 * Reads every enabled node's requirements.txt and the core's, and applies the spec's rules. Pure but
 * for file reads, and cheap: both collect-deps and uv-compile call it, so that no file in the home
 * has to hold the raw result (node index URLs may carry credentials).
 */
async function collectFor(ctx: TaskContext): Promise<CollectedDeps> {
  const nodes = await Promise.all(ctx.spec.custom_nodes.filter(n => n.enabled).map(async n => ({
    name: nodeName(n), text: await readIfExists(join(nodeDir(ctx.env.home, nodeName(n), true), 'requirements.txt')),
  })))
  // The collection rules are loaded when a task runs: a no-op only hashes the files (discover).
  const { collectRequirements } = await import('../../python/collect.ts')
  return collectRequirements({
    nodes, coreText: await readIfExists(join(ctx.env.home, 'requirements.txt')),
    rules: ctx.spec.python, installed: installedPackages(venvDirOf(ctx.env.home)),
  })
}

/**
 * Which environment is at `.venv`: its pyvenv.cfg, written once when the environment is made and new
 * whenever it is made again (deleted by a user, or left half-made by a killed run). The venv task's
 * inputs stay the same then, so without this uv-install and install scripts would be skipped for an
 * empty environment. A stat, no process.
 */
async function venvIdentity(home: string): Promise<string | null> {
  const st = await stat(join(venvDirOf(home), 'pyvenv.cfg'), { bigint: true }).catch(() => undefined)
  return st ? `${st.dev}:${st.ino}:${st.mtimeNs}` : null
}

async function collectedHash(c: CollectedDeps): Promise<string> {
  const { renderConstraints, renderRequirementsIn } = await import('../../python/collect.ts')
  return sha256(`${renderRequirementsIn(c)}\n--\n${renderConstraints(c)}\n--\n${[...c.indexUrls, ...c.extraIndexUrls].join('\n')}`)
}

export const venv: TaskPlugin = {
  kind: 'venv',
  resource: 'cpu',
  tasks: (spec, env) => [{ id: 'venv', kind: 'venv', deps: ['clone-core'], inputDeps: [], inputs: { python: spec.python.version ?? null, installer: env.installer } }],
  async discover(_task, ctx) {
    const found = discoverInterpreter(ctx.spec.python.version, PATH(ctx))
    // Without an interpreter on PATH, uv may still provide one; the run says what is missing.
    return { interpreter: found.ok ? found.value.identity : null }
  },
  outputsStand: async (_task, recorded, ctx) => {
    const v = readVenv(venvDirOf(ctx.env.home))
    return !!v && v.python === record(recorded).python && await stat(v.python).then(() => true, () => false)
  },
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const { createVenv } = await import('../../python/venv.ts')
    const r = await createVenv({
      venvDir: venvDirOf(ctx.env.home), version: ctx.spec.python.version, backend, envPATH: PATH(ctx),
      cacheRoot: ctx.env.cacheRoot, offline: ctx.config.offline, timeoutMs: ctx.config.timeouts.installS * 1000,
      signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
    })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    return {
      outputs: { python: r.value.python, version: r.value.version ?? null },
      note: `${r.value.created ? 'created' : 'kept'} Python ${r.value.fullVersion ?? r.value.version ?? ''} (${backend.label})`,
    }
  },
}

export const collectDeps: TaskPlugin = {
  kind: 'collect-deps',
  resource: 'cpu',
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'collect-deps', kind: 'collect-deps',
      deps: ['clone-core', ...spec.custom_nodes.map(n => `clone-node:${nodeName(n)}`), 'venv'],
      // The requirements files' contents are hashed (discover), not the commits they came from; a node
      // without a requirements.txt adds nothing, so it is not an input either.
      inputDeps: ['venv'],
      inputs: {
        requirements: p.requirements, constraints: p.constraints, overrides: p.overrides,
        blacklist: p.blacklist, downgrade_blacklist: p.downgrade_blacklist,
      },
    }]
  },
  async discover(_task, ctx) {
    const files: Record<string, string | null> = {}
    const hashOf = async (path: string) => { const b = await readIfExists(path); return b ? sha256(b) : null }
    files.comfyui = await hashOf(join(ctx.env.home, 'requirements.txt'))
    for (const n of ctx.spec.custom_nodes.filter(n => n.enabled)) {
      const hash = await hashOf(join(nodeDir(ctx.env.home, nodeName(n), true), 'requirements.txt'))
      if (hash) files[nodeName(n)] = hash
    }
    return { requirements_files: files, installed: downgradeInputs(ctx.spec.python, installedPackages(venvDirOf(ctx.env.home))) }
  },
  outputsStand: async () => true,
  async run(_task, ctx) {
    const c = await collectFor(ctx)
    const { collectedSummary } = await import('../../python/collect.ts')
    const summary = collectedSummary(c)
    for (const s of c.skipped) ctx.log(`skipped ${s.source}${s.lineNo ? `:${s.lineNo}` : ''}: ${s.line} (${s.reason})`)
    for (const n of c.notes) ctx.log(n)
    return {
      outputs: { hash: await collectedHash(c), summary: summary as unknown as Json },
      note: `${summary.requirements} requirement(s) for ${summary.packages} package(s)${c.skipped.length ? `, ${c.skipped.length} line(s) skipped` : ''}`,
      report: { skipped: c.skipped.map(s => ({ source: s.source, line: s.line, reason: s.reason })) as unknown as Json },
    }
  },
}

export const uvCompile: TaskPlugin = {
  kind: 'uv-compile',
  resource: 'cpu',
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'uv-compile', kind: 'uv-compile', deps: ['collect-deps', 'venv'],
      inputs: {
        python: p.version ?? null, index_url: p.index_url, extra_index_urls: p.extra_index_urls, find_links: p.find_links,
        torch_backend: p.torch_backend, exclude_newer: p.exclude_newer, on_conflict: p.on_conflict,
      },
    }]
  },
  async discover(_task, ctx) {
    const backend = backendFor(ctx)
    return {
      backend: `${backend.kind} ${backend.version}`,
      python_version: readVenv(venvDirOf(ctx.env.home))?.fullVersion ?? null,
      collected: record(ctx.deps.get('collect-deps')?.outputs).hash ?? null,
      // Not `offline`: a lock resolved online serves an offline run as it is (a serverless worker realized at build time).
    }
  },
  async outputsStand(_task, recorded) {
    const lock = record(recorded).lockPath
    return recorded !== null && (typeof lock !== 'string' || await stat(lock).then(() => true, () => false))
  },
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const venvDir = venvDirOf(ctx.env.home)
    const v = readVenv(venvDir)
    if (!v) throw new TaskFailure(`no Python environment at ${venvDir}; the venv task should have made it`)
    const [{ compile }, { PER_NODE_WARNING }] = await Promise.all([import('../../python/compile.ts'), import('../../python/per-node.ts')])
    const r = await compile({
      collected: await collectFor(ctx), rules: ctx.spec.python, backend, venvPython: v.python,
      pythonVersion: v.fullVersion ?? v.version ?? 'unknown', cacheRoot: ctx.env.cacheRoot, offline: ctx.config.offline,
      timeoutMs: ctx.config.timeouts.compileS * 1000, signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
      baseDir: ctx.config.versionsDir,
    })
    if (!r.ok) {
      if (r.error.reason === 'conflict' && ctx.spec.python.on_conflict === 'per-node') {
        ctx.log(PER_NODE_WARNING)
        for (const a of r.error.attribution) ctx.log(a)
        return { outputs: { perNode: true, lockHash: null }, note: `conflict: installing each node's requirements separately (${backend.label})` }
      }
      // The message already lists who asked for what (the attribution); details add the resolver's words.
      throw new TaskFailure(r.error.message, r.error.details)
    }
    return {
      outputs: { lockPath: r.value.lockPath, lockHash: r.value.lockHash, pins: r.value.pins.length },
      note: `${r.value.pins.length} pinned with ${backend.label}${r.value.cached ? ' (cached lock)' : ''}`,
    }
  },
}

export const uvInstall: TaskPlugin = {
  kind: 'uv-install',
  resource: 'cpu',
  tasks: () => [{ id: 'uv-install', kind: 'uv-install', deps: ['uv-compile', 'venv'], inputs: {} }],
  discover: async (_task, ctx) => ({
    lock: record(ctx.deps.get('uv-compile')?.outputs).lockHash ?? 'per-node',
    // A new environment needs everything installed again (install scripts follow through this fingerprint).
    environment: await venvIdentity(ctx.env.home),
  }),
  outputsStand: async (_task, _recorded, ctx) => !!readVenv(venvDirOf(ctx.env.home)),
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const v = readVenv(venvDirOf(ctx.env.home))
    if (!v) throw new TaskFailure(`no Python environment at ${venvDirOf(ctx.env.home)}`)
    const compiled = record(ctx.deps.get('uv-compile')?.outputs)
    const common = {
      backend, venvPython: v.python, rules: ctx.spec.python, offline: ctx.config.offline, cacheRoot: ctx.env.cacheRoot,
      timeoutMs: ctx.config.timeouts.installS * 1000, signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
      baseDir: ctx.config.versionsDir,
    }
    if (compiled.perNode) {
      const { installPerNode } = await import('../../python/per-node.ts')
      const r = await installPerNode({ ...common, collected: await collectFor(ctx) })
      if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
      const failed = r.value.outcomes.filter(o => !o.ok)
      for (const f of failed) ctx.log(`${f.source}: ${f.message}`)
      if (failed.length) throw new TaskFailure(`the requirements of ${failed.map(f => f.source).join(', ')} could not be installed`, failed.map(f => `${f.source}: ${f.message}`))
      return { outputs: { installed: r.value.installed.length }, note: `${r.value.installed.length} installed, node by node` }
    }
    if (typeof compiled.lockPath !== 'string') throw new TaskFailure('internal error: uv-compile recorded no lock')
    const { installLock } = await import('../../python/install.ts')
    const r = await installLock({ ...common, lockPath: compiled.lockPath, collected: await collectFor(ctx) })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    return { outputs: { installed: r.value.installed.length }, note: `${r.value.installed.length} installed, ${r.value.unchanged.length} unchanged (${backend.label})` }
  },
}

export const installScript: TaskPlugin = {
  kind: 'install-script',
  resource: 'cpu',
  tasks: spec => spec.custom_nodes.filter(n => n.enabled && n.install_script).map(n => ({
    id: `install-script:${nodeName(n)}`, kind: 'install-script', deps: ['uv-install', `clone-node:${nodeName(n)}`],
    // The lock's hash reaches this fingerprint through uv-install's (a dependency).
    inputs: { commit: n.commit },
  })),
  outputsStand: async (task, _recorded, ctx) => stat(nodeDir(ctx.env.home, task.id.slice('install-script:'.length), true)).then(() => true, () => false),
  async run(task, ctx) {
    const name = task.id.slice('install-script:'.length)
    const v = readVenv(venvDirOf(ctx.env.home))
    if (!v) throw new TaskFailure(`no Python environment at ${venvDirOf(ctx.env.home)}`)
    const { runInstallScript } = await import('../../python/install-script.ts')
    const r = await runInstallScript({
      nodeDir: nodeDir(ctx.env.home, name, true), venvPython: v.python, timeoutMs: ctx.config.timeouts.installS * 1000,
      signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
    })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    return { outputs: { ran: true }, note: `install.py ran in ${(r.value.ms / 1000).toFixed(1)}s` }
  },
}
