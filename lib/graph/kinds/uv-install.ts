import { defineKind, isRecord, outputsOf, TaskFailure, type Json } from '../plugin.ts'
import { readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'
import { uvCompile } from './uv-compile.ts'
import { backendFor, collectFor, madeVenv, stepOptions, venvIdentity } from './_python.ts'

/** What uv-install records: how many distributions it installed. */
export interface Installed { installed: number }

const parseInstalled = (recorded: Json): Installed | undefined =>
  isRecord(recorded) && typeof recorded.installed === 'number' ? { installed: recorded.installed } : undefined

/** The lock installed into the environment (`install -r`, never `sync`), or each node's requirements after a conflict. */
export const uvInstall = defineKind({
  kind: 'uv-install',
  resource: 'cpu',
  tasks: () => [{ id: 'uv-install', kind: 'uv-install', deps: ['uv-compile', 'venv'], inputs: {} }],
  discover: async (_task, ctx) => ({
    lock: outputsOf(ctx, uvCompile, 'uv-compile').lockHash ?? 'per-node',
    // A new environment needs everything installed again (install scripts follow through this fingerprint).
    environment: await venvIdentity(ctx.env.home),
  }),
  parseOutputs: parseInstalled,
  outputsStand: async (_task, _installed, ctx) => !!readVenv(homeLayout(ctx.env.home).venv),
  async verify(_task, _installed, ctx) {
    const compiled = outputsOf(ctx, uvCompile, 'uv-compile')
    if (compiled.perNode) return []
    const { verifyEnvironment } = await import('../../python/verify-env.ts')
    return verifyEnvironment(homeLayout(ctx.env.home).venv, compiled.lockPath)
  },
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const v = madeVenv(ctx)
    const compiled = outputsOf(ctx, uvCompile, 'uv-compile')
    const common = { ...stepOptions(ctx, backend, v.python, ctx.config.timeouts.installS), collected: await collectFor(ctx) }
    if (compiled.perNode) {
      const { installPerNode } = await import('../../python/per-node.ts')
      const r = await installPerNode(common)
      if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
      const failed = r.value.outcomes.filter(o => !o.ok)
      for (const f of failed) ctx.log(`${f.source}: ${f.message}`)
      if (failed.length) throw new TaskFailure(`the requirements of ${failed.map(f => f.source).join(', ')} could not be installed`, failed.map(f => `${f.source}: ${f.message}`))
      return { outputs: { installed: r.value.installed.length }, note: `${r.value.installed.length} installed, node by node` }
    }
    const { installLock } = await import('../../python/install.ts')
    const r = await installLock({ ...common, lockPath: compiled.lockPath })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    return { outputs: { installed: r.value.installed.length }, note: `${r.value.installed.length} installed, ${r.value.unchanged.length} unchanged (${backend.label})` }
  },
})
