import { defineKind, isRecord, outputsOf, TaskFailure, type Json } from '../plugin.ts'
import { readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'
import { uvCompile } from './uv-compile.ts'
import { backendFor, collectFor, installedFor, madeVenv, stepOptions, venvIdentity } from './_python.ts'

/** What uv-install records: how many distributions it installed, and what it removed (the clean switch). */
export interface Installed { installed: number; removed?: string[] }

const parseInstalled = (recorded: Json): Installed | undefined =>
  isRecord(recorded) && typeof recorded.installed === 'number' ? { installed: recorded.installed } : undefined

/**
 * The lock installed into the environment (`install -r`, never `sync`), or each node's requirements after a conflict;
 * then the clean switch: what the tool installed that the lock no longer has is removed (never a protected package,
 * never one a user installed by hand).
 */
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
    const [{ verifyEnvironment }, { readInstalledRecord }] = await Promise.all([import('../../python/verify-env.ts'), import('../../python/clean-switch.ts')])
    const home = homeLayout(ctx.env.home)
    const base = installedFor(ctx).base
    return verifyEnvironment(home.venv, compiled.lockPath, {
      record: readInstalledRecord(home.pythonRecord), kept: compiled.provided, protect: ctx.spec.python.protect,
      base: new Map(base.map(d => [d.name, d.version])),
    })
  },
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const v = madeVenv(ctx)
    const compiled = outputsOf(ctx, uvCompile, 'uv-compile')
    const common = { ...stepOptions(ctx, backend, v.python, ctx.config.timeouts.installS), collected: await collectFor(ctx) }
    if (compiled.perNode) {
      const [{ installPerNode }, { decideProvided, withProvided }] = await Promise.all([import('../../python/per-node.ts'), import('../../python/protect.ts')])
      // Each node's install still holds the protected builds where they are (they are constraints of every one).
      const { provided } = decideProvided({ rules: ctx.spec.python, collected: common.collected, ...installedFor(ctx) })
      const r = await installPerNode({ ...common, collected: withProvided(common.collected, provided.filter(p => p.why === 'protected')) })
      if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
      const failed = r.value.outcomes.filter(o => !o.ok)
      for (const f of failed) ctx.log(`${f.source}: ${f.message}`)
      if (failed.length) throw new TaskFailure(`the requirements of ${failed.map(f => f.source).join(', ')} could not be installed`, failed.map(f => `${f.source}: ${f.message}`))
      return { outputs: { installed: r.value.installed.length }, note: `${r.value.installed.length} installed, node by node` }
    }
    const [{ installLock }, sw, { installedPackages }, { parseLockPins }, { readFile }] = await Promise.all([
      import('../../python/install.ts'), import('../../python/clean-switch.ts'), import('../../python/installed.ts'),
      import('../../python/lock-file.ts'), import('node:fs/promises'),
    ])
    const home = homeLayout(ctx.env.home)
    const pins = parseLockPins(await readFile(compiled.lockPath, 'utf8').catch(() => ''))
    const record = sw.readInstalledRecord(home.pythonRecord)
    const protect = ctx.spec.python.protect
    const plan = sw.removals({ record, pins, installed: installedPackages(home.venv), protect })
    const removeNow = async (names: string[]) => {
      if (!names.length) return
      ctx.log(`removing what the tool installed and the lock no longer has: ${names.join(', ')}`)
      const u = await sw.uninstall({ ...common, names })
      if (!u.ok) throw new TaskFailure(u.error)
    }
    // Nothing to remove and every pin already installed as locked: no installer is started (a fingerprint that moved
    // without the pins moving, an environment another run already filled).
    if (!plan.before.length && !plan.after.length) {
      const { lockSatisfied } = await import('../../python/lock-satisfied.ts')
      const held = await lockSatisfied(home.venv, compiled.lockPath, {
        record, kept: compiled.provided, protect, base: new Map(installedFor(ctx).base.map(d => [d.name, d.version])),
      })
      if (held.ok) {
        await sw.writeInstalledRecord(home.pythonRecord, sw.nextRecord({ record, pins, kept: compiled.provided.map(p => p.name), installed: installedPackages(home.venv), protect }))
        return { outputs: { installed: 0, removed: [] }, note: `nothing to install: the environment already holds the lock's ${held.value} pins (no installer started)` }
      }
    }
    // A member of a module family goes first: uninstalling it after its replacement would delete the shared files.
    await removeNow(plan.before)
    const r = await installLock({ ...common, lockPath: compiled.lockPath, provided: compiled.provided })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    await removeNow(plan.after)
    await sw.writeInstalledRecord(home.pythonRecord, sw.nextRecord({ record, pins, kept: compiled.provided.map(p => p.name), installed: installedPackages(home.venv), protect }))
    const removed = [...plan.before, ...plan.after]
    return {
      outputs: { installed: r.value.installed.length, removed },
      note: `${r.value.installed.length} installed, ${r.value.unchanged.length} unchanged${removed.length ? `, ${removed.length} removed (${removed.join(', ')})` : ''} (${backend.label})`,
    }
  },
})
