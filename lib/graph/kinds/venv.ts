import { stat } from 'node:fs/promises'
import { defineKind, isRecord, TaskFailure, type Json } from '../plugin.ts'
import { discoverInterpreter, readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'
import { backendFor, pathOf } from './_python.ts'

/** What venv records: the environment's interpreter and its version. */
export interface Venv { python: string; version: string | null }

const parseVenv = (recorded: Json): Venv | undefined =>
  isRecord(recorded) && typeof recorded.python === 'string' ? { python: recorded.python, version: typeof recorded.version === 'string' ? recorded.version : null } : undefined

/** The version's one Python environment, in the home. */
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
    const { createVenv } = await import('../../python/venv.ts')
    const r = await createVenv({
      venvDir: homeLayout(ctx.env.home).venv, version: ctx.spec.python.version, backend, envPATH: pathOf(ctx), systemSitePackages: ctx.spec.python.system_site_packages,
      cacheRoot: ctx.env.cacheRoot, offline: ctx.config.offline, timeoutMs: ctx.config.timeouts.installS * 1000,
      signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
    })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    return {
      outputs: { python: r.value.python, version: r.value.version ?? null },
      note: `${r.value.created ? 'created' : 'kept'} Python ${r.value.fullVersion ?? r.value.version ?? ''} (${backend.label})`,
    }
  },
})
