import { realpath } from 'node:fs/promises'
import { defineKind, isRecord, outputsOf, TaskFailure, type Json, type TaskContext } from '../plugin.ts'
import { readVenv, venvPython } from '../../python/interpreter.ts'
import { detectBackend } from '../../python/backend.ts'
import { homeLayout } from '../../layout/home.ts'
import { cacheLayout } from '../../layout/cache.ts'
import { readEnvState, sharedEnvKey, venvLink } from '../../python/shared-env.ts'
import { readInstalledRecord, type InstalledRecord } from '../../python/installed-record.ts'
import { uvCompile } from './uv-compile.ts'
import { baseInputs, withEnvLock } from './venv.ts'
import { backendFor, collectFor, installedFor, madeVenv, pathOf, stepOptions, venvIdentity } from './_python.ts'

/** What uv-install records: how many distributions it installed, and what it removed (the clean switch). */
export interface Installed { installed: number; removed?: string[]; env?: string }

const parseInstalled = (recorded: Json): Installed | undefined =>
  isRecord(recorded) && typeof recorded.installed === 'number' ? { installed: recorded.installed, ...(typeof recorded.env === 'string' ? { env: recorded.env } : {}) } : undefined

/**
 * The lock installed into the environment (`install -r`, never `sync`), or each node's requirements after a conflict;
 * then the clean switch: what the tool installed that the lock no longer has is removed (never a protected package,
 * never one a user installed by hand). A home whose `.venv` is a link gets its lock's shared environment
 * (`<cache>/envs/<key>`), made and installed once; a home with its own `.venv` folder is installed into in place.
 */
export const uvInstall = defineKind({
  kind: 'uv-install',
  resource: 'cpu',
  tasks: () => [{ id: 'uv-install', kind: 'uv-install', deps: ['uv-compile', 'venv'], inputs: {} }],
  discover: async (_task, ctx) => ({
    lock: outputsOf(ctx, uvCompile, 'uv-compile').lockHash ?? 'per-node',
    // A new environment needs everything installed again (install scripts follow through this fingerprint); a shared
    // one is named by its key.
    environment: (await venvLink(homeLayout(ctx.env.home).venv)).kind === 'own' ? await venvIdentity(ctx.env.home) : `shared:${envKeyOf(ctx)}`,
  }),
  parseOutputs: parseInstalled,
  outputsStand: async (_task, installed, ctx) => {
    const venv = homeLayout(ctx.env.home).venv
    if (!installed.env) return (await venvLink(venv)).kind === 'own' && !!readVenv(venv)
    const dir = cacheLayout(ctx.env.cacheRoot).sharedEnv(installed.env)
    const at = await realpath(venv).catch(() => undefined)
    const state = readEnvState(dir)
    return at === await realpath(dir).catch(() => null) && !!state?.complete && state.key === installed.env && !!readVenv(venv)
  },
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
    const home = homeLayout(ctx.env.home)
    if ((await venvLink(home.venv)).kind === 'own') {
      const done = await installInto(ctx, home.venv, readInstalledRecord(home.pythonRecord))
      const sw = await import('../../python/clean-switch.ts')
      await sw.writeInstalledRecord(home.pythonRecord, done.record)
      return { outputs: done.outputs, note: done.note }
    }
    return installShared(ctx)
  },
})

/** The key of the shared environment this home's lock and settings call for (files only). */
function envKeyOf(ctx: TaskContext): string {
  const compiled = outputsOf(ctx, uvCompile, 'uv-compile')
  // Install scripts write into the environment they run with, and a per-node install is this home's own history:
  // those environments are this home's alone.
  const writes = compiled.perNode || ctx.spec.custom_nodes.some(n => n.enabled && n.install_script)
  return sharedEnvKey(baseInputs(ctx, backendFor(ctx).kind), {
    lockHash: compiled.lockHash ?? 'per-node', kept: compiled.provided ?? [], own: writes ? ctx.env.home : null,
  })
}

async function installShared(ctx: TaskContext) {
  const [shared, sw] = await Promise.all([import('../../python/shared-env.ts'), import('../../python/clean-switch.ts')])
  const home = homeLayout(ctx.env.home)
  const key = envKeyOf(ctx)
  const dir = cacheLayout(ctx.env.cacheRoot).sharedEnv(key)
  const from = await realpath(home.venv).catch(() => home.venv)
  const compiled = outputsOf(ctx, uvCompile, 'uv-compile')
  const made = madeVenv(ctx)
  const done = await withEnvLock(ctx, key, async () => {
    let state = shared.readEnvState(dir)
    let built = false
    // Complete, and under its own key: anything else in that folder is a half-made copy.
    if (!state?.complete || state.key !== key) {
      // Under this environment's lock, one not complete is a half-made one of ours: made again.
      ctx.log(`making the shared environment ${key.slice(0, 12)} from ${from}`)
      const before = shared.readEnvState(from)
      // The source may be another home's environment: it is read under its own lock, so never mid-install.
      const clone = () => shared.cloneEnv(from, dir, before ? [cacheLayout(ctx.env.cacheRoot).sharedEnv(before.key)] : [home.venv])
      await (before ? withEnvLock(ctx, before.key, clone) : clone())
      state = { key, base: before?.base ?? shared.baseEnvKey(baseInputs(ctx, backendFor(ctx).kind)), complete: false, record: before?.record ?? readInstalledRecord(home.pythonRecord) }
      await shared.writeEnvState(dir, state)
      built = true
    }
    const r = await installInto(ctx, dir, state.record)
    await shared.writeEnvState(dir, { ...state, complete: true, record: r.record })
    return { ...r, built }
  })
  await shared.pointVenv(home.venv, dir)
  await sw.writeInstalledRecord(home.pythonRecord, done.record)
  if (!readVenv(home.venv) || readVenv(home.venv)!.python !== made.python) throw new TaskFailure(`${home.venv} does not lead to a Python environment after linking it to ${dir}`)
  return {
    outputs: { ...done.outputs, env: key },
    note: `${done.built ? 'made' : 'using'} the shared environment ${key.slice(0, 12)}: ${done.note}`,
  }
}

/** Installs the lock (or each node's requirements) into one environment; returns the record of what the tool installed there. */
async function installInto(ctx: TaskContext, venvDir: string, record: InstalledRecord) {
  const b = detectBackend(ctx.config.installer, venvDir, pathOf(ctx))
  if (!b.ok) throw new TaskFailure(b.error)
  const backend = b.value
  const compiled = outputsOf(ctx, uvCompile, 'uv-compile')
  const common = { ...stepOptions(ctx, backend, venvPython(venvDir), ctx.config.timeouts.installS), collected: await collectFor(ctx) }
  const [sw, { installedPackages }] = await Promise.all([import('../../python/clean-switch.ts'), import('../../python/installed.ts')])
  if (compiled.perNode) {
    const [{ installPerNode }, { decideProvided, withProvided }] = await Promise.all([import('../../python/per-node.ts'), import('../../python/protect.ts')])
    // Each node's install still holds the protected builds where they are (they are constraints of every one).
    const { provided } = decideProvided({ rules: ctx.spec.python, collected: common.collected, ...installedFor(ctx) })
    const r = await installPerNode({ ...common, collected: withProvided(common.collected, provided.filter(p => p.why === 'protected')) })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    const failed = r.value.outcomes.filter(o => !o.ok)
    for (const f of failed) ctx.log(`${f.source}: ${f.message}`)
    if (failed.length) throw new TaskFailure(`the requirements of ${failed.map(f => f.source).join(', ')} could not be installed`, failed.map(f => `${f.source}: ${f.message}`))
    return { outputs: { installed: r.value.installed.length }, note: `${r.value.installed.length} installed, node by node`, record }
  }
  const [{ installLock }, { parseLockPins }, { readFile }] = await Promise.all([
    import('../../python/install.ts'), import('../../python/lock-file.ts'), import('node:fs/promises'),
  ])
  const pins = parseLockPins(await readFile(compiled.lockPath, 'utf8').catch(() => ''))
  const protect = ctx.spec.python.protect
  const plan = sw.removals({ record, pins, installed: installedPackages(venvDir), protect })
  const next = () => sw.nextRecord({ record, pins, kept: compiled.provided.map(p => p.name), installed: installedPackages(venvDir), protect })
  // Nothing to remove and every pin already installed as locked: no installer is started (a fingerprint that moved
  // without the pins moving, an environment another home already filled).
  if (!plan.before.length && !plan.after.length) {
    const { lockSatisfied } = await import('../../python/lock-satisfied.ts')
    const held = await lockSatisfied(venvDir, compiled.lockPath, {
      record, kept: compiled.provided, protect, base: new Map(installedFor(ctx).base.map(d => [d.name, d.version])),
    })
    if (held.ok) return { outputs: { installed: 0, removed: [] }, note: `nothing to install: the environment already holds the lock's ${held.value} pins (no installer started)`, record: next() }
  }
  const removeNow = async (names: string[]) => {
    if (!names.length) return
    ctx.log(`removing what the tool installed and the lock no longer has: ${names.join(', ')}`)
    const u = await sw.uninstall({ ...common, names })
    if (!u.ok) throw new TaskFailure(u.error)
  }
  // A member of a module family goes first: uninstalling it after its replacement would delete the shared files.
  await removeNow(plan.before)
  const r = await installLock({ ...common, lockPath: compiled.lockPath, provided: compiled.provided })
  if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
  await removeNow(plan.after)
  const removed = [...plan.before, ...plan.after]
  return {
    outputs: { installed: r.value.installed.length, removed },
    note: `${r.value.installed.length} installed, ${r.value.unchanged.length} unchanged${removed.length ? `, ${removed.length} removed (${removed.join(', ')})` : ''} (${backend.label})`,
    record: next(),
  }
}
