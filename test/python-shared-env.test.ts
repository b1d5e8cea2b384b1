/**
 * An environment that already holds the lock is not installed into again (issue 19, item 3's uv-install half),
 * through the real CLI on pip, with wheels the test builds and --offline. That no Python process starts in the
 * environment is seen from inside it: a sitecustomize.py in its site-packages appends a line to a file at every
 * start of its interpreter (pip included).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { addCommit, makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'
import { exec } from '../lib/util/exec.ts'

interface Ctx { w: World; wheels: string; core: TestRepo; A: TestRepo }
const S = suite<Ctx>('cli: an environment that holds the lock starts no installer')

type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; note?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const OFFLINE = ['--offline', '--json']

function spec(ctx: Ctx, commit: number) {
  return {
    schema_version: 2, id: 'se',
    comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
    custom_nodes: [{ name: 'NodeA', repo: ctx.A.url, ref: 'main', commit: ctx.A.commits[commit] }],
    python: { find_links: [ctx.wheels] },
  }
}

const sitePackages = (home: string) => {
  const lib = join(home, '.venv', 'lib')
  return join(lib, readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!, 'site-packages')
}

S.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-shared-env-')
  ctx.wheels = join(ctx.w.dir, 'wheels')
  buildWheel(ctx.wheels, { name: 'demo-a', version: '1.0' })
  buildWheel(ctx.wheels, { name: 'demo-b', version: '1.0' })
  const dir = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(dir, 'ComfyUI', [{ 'main.py': '', 'requirements.txt': '' }], { branch: 'master' })
  // Commits 0 and 1 ask differently for what resolves to the same pins; commit 2 asks for more.
  ctx.A = await makeRepo(dir, 'NodeA', [{ '__init__.py': '', 'requirements.txt': 'demo-a\n' }])
  await addCommit(ctx.A, { 'requirements.txt': 'demo-a>=1.0\n' })
  await addCommit(ctx.A, { 'requirements.txt': 'demo-a\ndemo-b\n' })
  await ctx.w.writeSpec('se', { ...spec(ctx, 0), comfyui: { repo: ctx.core.url, ref: 'master' }, custom_nodes: [{ name: 'NodeA', repo: ctx.A.url, ref: 'main' }] })
  const v = await ctx.w.cli(['validate', 'se'])
  assert.is(v.code, 0, v.stderr)
}))
S.after(guarded(async ctx => { await ctx.w.cleanup() }))

S('a new lock with the same pins, and a switch back to a cached one, start no installer; one with another pin does', async ctx => {
  const home = ctx.w.home('se')
  await ctx.w.writeSpec('se', spec(ctx, 0))
  const first = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(first.code, 0, first.stderr)
  assert.match(task(first.json<Report>(), 'uv-install').note!, /^1 installed/)

  // Other requirement text, same pins: the compile runs again (pip resolves), the install finds nothing to do.
  await ctx.w.writeSpec('se', spec(ctx, 1))
  const same = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(same.code, 0, same.stderr)
  const sameReport = same.json<Report>()
  assert.is(task(sameReport, 'uv-compile').status, 'ran')
  assert.equal([task(sameReport, 'uv-install').status, task(sameReport, 'uv-install').note], ['ran', 'nothing to install: the environment already holds the lock\'s 1 pins (no installer started)'])

  // Back to commit 0: its lock is cached, so nothing at all has a reason to start Python in the environment.
  const starts = join(ctx.w.dir, 'python-starts.txt')
  writeFileSync(join(sitePackages(home), 'sitecustomize.py'), `import sys\nopen(${JSON.stringify(starts)}, 'a').write(repr(sys.argv) + '\\n')\n`)
  await ctx.w.writeSpec('se', spec(ctx, 0))
  const back = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(back.code, 0, back.stderr)
  assert.match(task(back.json<Report>(), 'uv-compile').note!, /\(cached lock\)/)
  assert.match(task(back.json<Report>(), 'uv-install').note!, /^nothing to install/)
  assert.not.ok(existsSync(starts), 'no Python process started in the environment')

  // One more pin: the installer runs (and its start is seen).
  await ctx.w.writeSpec('se', spec(ctx, 2))
  const more = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(more.code, 0, more.stderr)
  assert.match(task(more.json<Report>(), 'uv-install').note!, /^1 installed, 1 unchanged/)
  assert.ok(existsSync(starts), 'pip ran in the environment')
  const r = await exec(join(home, '.venv', 'bin', 'python'), ['-c', 'import demo_a, demo_b'], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(r.exitCode, 0, r.stderr)
  const v = await ctx.w.cli(['verify', 'se', '--json'])
  assert.is(v.code, 0, v.stdout)
})

S.run()
