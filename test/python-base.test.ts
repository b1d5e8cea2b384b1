/**
 * python.system_site_packages through the real CLI on pip (issue 17): an environment made from a base Python whose
 * site-packages hold a CUDA torch (and another package) sees them, and what fits is not installed again.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'
import { makeBasePython, type BasePython } from './helpers/python-base.ts'
import { exec } from '../lib/util/exec.ts'

interface Ctx { w: World; wheels: string; base: BasePython; core: TestRepo; node: TestRepo }
const B = suite<Ctx>('cli: system_site_packages sees the base interpreter\'s packages')

type Report = { ok: boolean; tasks: { id: string; status: string; note?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const OFFLINE = ['--offline', '--json']

const spec = (ctx: Ctx, system_site_packages: boolean) => ({
  schema_version: 2, id: 'base',
  comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
  custom_nodes: [{ name: 'NodeV', repo: ctx.node.url, ref: 'main', commit: ctx.node.commits[0] }],
  python: { version: '3.11', find_links: [ctx.wheels], system_site_packages },
})

const ownSite = (home: string) => {
  const lib = join(home, '.venv', 'lib')
  return join(lib, readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!, 'site-packages')
}
const own = (home: string) => readdirSync(ownSite(home)).filter(d => d.endsWith('.dist-info') && !/^(pip|setuptools|wheel)-/.test(d)).sort()

B.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-base-')
  ctx.wheels = join(ctx.w.dir, 'wheels')
  const image = join(ctx.w.dir, 'image')
  buildWheel(image, { name: 'torch', version: '2.5.0+cu124', files: { 'torch/__init__.py': '__version__ = "2.5.0+cu124"\n' } })
  buildWheel(image, { name: 'demo-basepkg', version: '1.2' })
  for (const v of ['2.5.0', '2.6.0']) buildWheel(ctx.wheels, { name: 'torch', version: v, files: { 'torch/__init__.py': `__version__ = "${v}"\n` } })
  buildWheel(ctx.wheels, { name: 'demo-vision', version: '1.0', requires: ['torch>=2'] })
  buildWheel(ctx.wheels, { name: 'demo-basepkg', version: '1.5' })
  ctx.base = makeBasePython(join(ctx.w.dir, 'base'), '3.11')
  // The image's packages, installed into the base's own site-packages by the machine's pip.
  const pip = await exec('python3.11', ['-m', 'pip', 'install', '--no-index', '--find-links', image, '--target', ctx.base.sitePackages, 'torch==2.5.0+cu124', 'demo-basepkg==1.2'],
    { env: { PATH: process.env.PATH ?? '', PIP_DISABLE_PIP_VERSION_CHECK: '1' } })
  assert.is(pip.exitCode, 0, pip.stderr)
  const dir = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(dir, 'ComfyUI', [{ 'main.py': '', 'requirements.txt': '' }], { branch: 'master' })
  ctx.node = await makeRepo(dir, 'NodeV', [{ '__init__.py': '', 'requirements.txt': 'torch<2.6\ndemo-vision\ndemo-basepkg>=1\n' }])
  await ctx.w.writeSpec('base', { ...spec(ctx, true), comfyui: { repo: ctx.core.url, ref: 'master' }, custom_nodes: [{ name: 'NodeV', repo: ctx.node.url, ref: 'main' }] })
  const v = await ctx.w.cli(['validate', 'base'])
  assert.is(v.code, 0, v.stderr)
}))
B.after(guarded(async ctx => { await ctx.w.cleanup() }))

B('the base\'s torch 2.5.0+cu124 and demo-basepkg 1.2 are seen and not installed again; only demo-vision lands in .venv', async ctx => {
  await ctx.w.writeSpec('base', spec(ctx, true))
  // The base Python comes first on PATH, as an image's system Python does.
  const env = { PATH: [ctx.base.bin, process.env.PATH].join(delimiter) }
  const r = await ctx.w.cli(['realize', 'base', ...OFFLINE], { env })
  assert.is(r.code, 0, r.stderr)
  const home = ctx.w.home('base')
  assert.match(readFileSync(join(home, '.venv', 'pyvenv.cfg'), 'utf8'), /include-system-site-packages = true/)
  assert.equal(own(home), ['demo_vision-1.0.dist-info'])
  const py = await exec(join(home, '.venv', 'bin', 'python'), ['-c', 'import torch, demo_basepkg, demo_vision; print(torch.__version__, demo_basepkg.__version__, torch.__file__)'], { env })
  assert.is(py.exitCode, 0, py.stderr)
  assert.equal(py.stdout.trim().split(' ').slice(0, 2), ['2.5.0+cu124', '1.2'])
  assert.ok(py.stdout.includes(ctx.base.sitePackages), py.stdout)
  assert.match(task(r.json<Report>(), 'uv-compile').note!, /protected: torch 2\.5\.0\+cu124/)
  assert.match(r.stderr, /provided by the base interpreter \(not installed again\): demo-basepkg 1\.2/)
  const lock = readFileSync(join(ctx.w.cache, 'compiled', readdirSync(join(ctx.w.cache, 'compiled')).find(f => f.endsWith('.txt'))!), 'utf8')
  assert.match(lock, /^demo-basepkg==1\.2  # provided by the base interpreter \(system_site_packages\): not installed again$/m)
  assert.match(lock, /^torch==2\.5\.0\+cu124  # protected \(python\.protect\): the installed build is kept$/m)
  const verify = await ctx.w.cli(['verify', 'base', '--json'], { env })
  assert.is(verify.code, 0, verify.stdout)
  const again = await ctx.w.cli(['realize', 'base', ...OFFLINE], { env })
  assert.ok(again.json<Report>().tasks.every(t => t.status === 'skipped'), again.stdout)
})

B('without system_site_packages the same environment gets its own packages (the setting is changed in place)', async ctx => {
  await ctx.w.writeSpec('base', spec(ctx, false))
  const env = { PATH: [ctx.base.bin, process.env.PATH].join(delimiter) }
  const r = await ctx.w.cli(['realize', 'base', ...OFFLINE], { env })
  assert.is(r.code, 0, r.stderr)
  const home = ctx.w.home('base')
  assert.match(readFileSync(join(home, '.venv', 'pyvenv.cfg'), 'utf8'), /include-system-site-packages = false/)
  assert.equal(own(home), ['demo_basepkg-1.5.dist-info', 'demo_vision-1.0.dist-info', 'torch-2.5.0.dist-info'])
  assert.ok(existsSync(join(home, '.venv', 'bin', 'python')))
})

B.run()
