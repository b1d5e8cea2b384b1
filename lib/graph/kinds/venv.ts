import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { defineKind, isRecord, TaskFailure, type Json, type TaskContext } from '../plugin.ts'
import { discoverInterpreter, readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'
import { cacheLayout } from '../../layout/cache.ts'
import { backendFor, pathOf } from './_python.ts'

/** What venv records: the environment's interpreter and its version. */
export interface Venv { python: string; version: string | null }

const parseVenv = (recorded: Json): Venv | undefined =>
  isRecord(recorded) && typeof recorded.python === 'string' ? { python: recorded.python, version: typeof recorded.version === 'string' ? recorded.version : null } : undefined

/**
 * The version's Python environment at `<home>/.venv`. A new home gets a link to the empty environment of its
 * interpreter settings, shared in the cache (uv-install then points it at its lock's); a home whose `.venv` is a real
 * folder (made before environments were shared) keeps it.
 */
export const venv = defineKind({
  kind: 'venv',
  resource: 'cpu',
  tasks: (spec, env) => [{ id: 'venv', kind: 'venv', deps: ['clone-core'], inputDeps: [], inputs: { python: spec.python.version ?? null, installer: env.installer, system_site_packages: spec.python.system_site_packages } }],
  async discover(_task, ctx) {
    const found = discoverInterpreter(ctx.spec.python.version, pathOf(ctx))
    // Without an interpreter on PATH, uv may still provide one; the run says what is missing.
    return { interpreter: found.ok ? found.value.identity : null }
  },
  parseOutputs: parseVenv,
  outputsStand: async (_task, made, ctx) => {
    const v = readVenv(homeLayout(ctx.env.home).venv)
    return !!v && v.python === made.python && await stat(v.python).then(() => true, () => false)
  },
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const [{ createVenv }, shared] = await Promise.all([import('../../python/venv.ts'), import('../../python/shared-env.ts')])
    const venvPath = homeLayout(ctx.env.home).venv
    const link = await shared.venvLink(venvPath)
    const make = (venvDir: string) => createVenv({
      venvDir, version: ctx.spec.python.version, backend, envPATH: pathOf(ctx), systemSitePackages: ctx.spec.python.system_site_packages,
      cacheRoot: ctx.env.cacheRoot, offline: ctx.config.offline, timeoutMs: ctx.config.timeouts.installS * 1000,
      signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
    })
    if (link.kind === 'own') {
      const r = await make(venvPath)
      if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
      return { outputs: { python: r.value.python, version: r.value.version ?? null }, note: `${r.value.created ? 'created' : 'kept'} Python ${r.value.fullVersion ?? r.value.version ?? ''} (${backend.label})` }
    }
    const base = shared.baseEnvKey(baseInputs(ctx, backend.kind))
    const now = link.kind === 'linked' ? shared.readEnvState(link.target) : undefined
    const v = now?.complete && now.base === base && link.kind === 'linked' && now.key === basename(link.target) ? readVenv(venvPath) : undefined
    if (v) return { outputs: { python: v.python, version: v.version ?? null }, note: `kept the shared environment ${now!.key.slice(0, 12)} (Python ${v.fullVersion ?? v.version ?? ''})` }
    const dir = cacheLayout(ctx.env.cacheRoot).sharedEnv(base)
    const created = await withEnvLock(ctx, base, async () => {
      const r = await make(dir)
      if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
      if (!shared.readEnvState(dir)?.complete) await shared.writeEnvState(dir, { key: base, base, complete: true, record: {} })
      return r.value.created
    })
    await shared.pointVenv(venvPath, dir)
    const made = readVenv(venvPath)
    if (!made) throw new TaskFailure(`${venvPath} does not lead to a Python environment after linking it to ${dir}`)
    return {
      outputs: { python: made.python, version: made.version ?? null },
      note: `${created ? 'created' : 'linked'} the shared empty environment ${base.slice(0, 12)} (Python ${made.fullVersion ?? made.version ?? ''}, ${backend.label})`,
    }
  },
})

/** The interpreter settings that key an environment (the interpreter's real path when one is found on PATH). */
export function baseInputs(ctx: TaskContext, backend: 'uv' | 'pip') {
  const found = discoverInterpreter(ctx.spec.python.version, pathOf(ctx))
  return { interpreter: found.ok ? found.value.realpath : null, version: found.ok ? found.value.version ?? null : ctx.spec.python.version ?? null, backend, systemSitePackages: !!ctx.spec.python.system_site_packages }
}

/** Holds the cache's lock of one shared environment: no two runs make or install into it at once. */
export async function withEnvLock<T>(ctx: TaskContext, key: string, fn: () => Promise<T>): Promise<T> {
  const { acquireLock } = await import('../../util/lock.ts')
  const release = await acquireLock(cacheLayout(ctx.env.cacheRoot).envLock(key), {
    ...(ctx.signal ? { signal: ctx.signal } : {}), onWait: ctx.log, waitingFor: `the shared environment ${key.slice(0, 12)}`,
  })
  try { return await fn() } finally { await release() }
}
