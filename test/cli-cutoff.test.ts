/**
 * Early cutoff through the real CLI (pip, real wheels, --offline): a node removed whose requirement another node
 * also asks for changes what collect-deps collects, so uv-compile runs again; it pins the same lock, and uv-install
 * is skipped: no installer process.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { ensureCommit } from '../lib/git/index.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; wheels: string; core: TestRepo; a: TestRepo; b: TestRepo }
const C = suite<Ctx>('cli: early cutoff')

type Report = { ok: boolean; tasks: { id: string; status: string; reason?: string; note?: string }[] }
const status = (r: Report) => Object.fromEntries(r.tasks.map(t => [t.id, t.status]))

const spec = (ctx: Ctx, nodes: TestRepo[]) => ({
  schema_version: 2, id: 'cut',
  comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
  custom_nodes: nodes.map(r => ({ repo: r.url, ref: 'main', commit: r.commits[0] })),
  python: { find_links: [ctx.wheels] },
})

C.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  ctx.wheels = join(ctx.w.dir, 'wheels')
  buildWheel(ctx.wheels, { name: 'demo-greet', version: '1.0' })
  const dir = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(dir, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.a = await makeRepo(dir, 'NodeA', [{ '__init__.py': '', 'requirements.txt': 'demo-greet\n' }])
  ctx.b = await makeRepo(dir, 'NodeB', [{ '__init__.py': '', 'requirements.txt': 'demo-greet\n' }])
  // The mirrors realize --offline reads, filled as an online realize would.
  for (const r of [ctx.core, ctx.a, ctx.b]) {
    const m = await ensureCommit({ cacheRoot: ctx.w.cache, url: r.url, commit: r.commits[0]!, offline: false, env: process.env })
    if (!m.ok) throw new Error(m.error.message)
  }
}))
C.after(guarded(async ctx => { await ctx.w.cleanup() }))

C('a removed node whose requirement another node asks for: uv-compile runs, pins the same, uv-install is skipped', async ctx => {
  const { w } = ctx
  await w.writeSpec('cut', spec(ctx, [ctx.a, ctx.b]))
  const first = await w.cli(['realize', 'cut', '--offline', '--json'])
  assert.is(first.code, 0, first.stderr)
  assert.is(status(first.json<Report>())['uv-install'], 'ran')

  await w.writeSpec('cut', spec(ctx, [ctx.a]))
  const plan = await w.cli(['plan', 'cut', '--offline', '--json'])
  const planned = Object.fromEntries(plan.json<{ tasks: { id: string; status: string; reason: string }[] }>().tasks.map(t => [t.id, t]))
  assert.is(planned['uv-install']!.status, 'run')
  assert.match(planned['uv-install']!.reason, /^may run: it is decided after uv-compile/, 'plan cannot know the lock will be the same')

  const second = await w.cli(['realize', 'cut', '--offline', '--json'])
  assert.is(second.code, 0, second.stderr)
  const s = status(second.json<Report>())
  assert.is(s['collect-deps'], 'ran')
  assert.is(s['uv-compile'], 'ran')
  assert.is(s['uv-install'], 'skipped', 'the same lock: nothing to install, no installer started')
  const noop = await w.cli(['realize', 'cut', '--offline', '--json'])
  assert.ok(noop.json<Report>().tasks.every(t => t.status === 'skipped'), 'and the next realize is a no-op')
})

C.run()
