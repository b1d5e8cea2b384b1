/**
 * Python environments that keep the GPU build, stay clean and hold one module per import name (issue 17), through
 * the real CLI on pip, with wheels the test builds and --offline: a torch 2.5.0+cu124 the environment has is kept
 * against a node asking torch<2.6 and named in a clear failure for one asking torch>=2.6; only a pin in
 * python.requirements replaces it; a switch in one home removes what only the old version had and keeps what the
 * user installed by hand; opencv-python and opencv-contrib-python asked by two nodes give one cv2.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { addCommit, makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'
import { exec } from '../lib/util/exec.ts'

type Name = 'T' | 'A' | 'B' | 'C'
interface Ctx { w: World; wheels: string; image: string; repos: Record<'core' | Name, TestRepo> }
const S = suite<Ctx>('cli: protected builds, clean switches, one module per import name')

type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; note?: string }[] }
type Verify = { ok: boolean; checks: { id: string; status: string; detail?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const OFFLINE = ['--offline', '--json']

/** After the first realize the CUDA build is on no index the spec names, as an image's torch is on none. */
function spec(ctx: Ctx, commits: Partial<Record<Name, number>>, python: Record<string, unknown> = {}, withImage = false) {
  return {
    schema_version: 2, id: 'sw',
    comfyui: { repo: ctx.repos.core.url, ref: 'master', commit: ctx.repos.core.commits[0] },
    custom_nodes: (Object.entries(commits) as [Name, number][]).map(([n, i]) => ({ name: `Node${n}`, repo: ctx.repos[n].url, ref: 'main', commit: ctx.repos[n].commits[i] })),
    python: { find_links: withImage ? [ctx.wheels, ctx.image] : [ctx.wheels], ...python },
  }
}

/** `name version` of every distribution in the home's environment that the test built. */
function dists(home: string): string[] {
  const lib = join(home, '.venv', 'lib')
  const site = join(lib, readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!, 'site-packages')
  return readdirSync(site).filter(d => d.endsWith('.dist-info') && !/^(pip|setuptools|wheel)-/.test(d))
    .map(d => readFileSync(join(site, d, 'METADATA'), 'utf8'))
    .map(m => `${/^Name: (.+)$/m.exec(m)![1]} ${/^Version: (.+)$/m.exec(m)![1]}`).sort()
}

async function python(home: string, code: string): Promise<string> {
  const r = await exec(join(home, '.venv', 'bin', 'python'), ['-c', code], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(r.exitCode, 0, r.stderr)
  return r.stdout.trim()
}

S.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-switch-')
  ctx.wheels = join(ctx.w.dir, 'wheels')
  // The "image": a CUDA build on no index the spec names but this folder (as an image's torch is on none at all).
  ctx.image = join(ctx.w.dir, 'image')
  buildWheel(ctx.image, { name: 'torch', version: '2.5.0+cu124', files: { 'torch/__init__.py': '__version__ = "2.5.0+cu124"\n' } })
  for (const v of ['2.5.0', '2.6.0']) buildWheel(ctx.wheels, { name: 'torch', version: v, files: { 'torch/__init__.py': `__version__ = "${v}"\n` } })
  buildWheel(ctx.wheels, { name: 'demo-vision', version: '1.0', requires: ['torch>=2'] })
  for (const n of ['demo-old', 'demo-common', 'demo-new', 'demo-hand']) buildWheel(ctx.wheels, { name: n, version: '1.0' })
  for (const [name, flavor] of [['opencv-python', 'plain'], ['opencv-contrib-python', 'contrib']] as const) {
    buildWheel(ctx.wheels, { name, version: '4.9.0.80', files: { 'cv2/__init__.py': `flavor = "${flavor}"\n` } })
  }
  const dir = join(ctx.w.dir, 'repos')
  const T = await makeRepo(dir, 'NodeT', [{ '__init__.py': '', 'requirements.txt': 'torch==2.5.0+cu124\n' }])
  await addCommit(T, { 'requirements.txt': 'torch>=2.6\n' })
  await addCommit(T, { 'requirements.txt': 'torch<2.6\ndemo-vision\n' })
  const A = await makeRepo(dir, 'NodeA', [{ '__init__.py': '', 'requirements.txt': 'demo-old\ndemo-common\n' }])
  await addCommit(A, { 'requirements.txt': 'demo-common\ndemo-new\n' })
  ctx.repos = {
    core: await makeRepo(dir, 'ComfyUI', [{ 'main.py': '', 'requirements.txt': '' }], { branch: 'master' }),
    T, A,
    B: await makeRepo(dir, 'NodeB', [{ '__init__.py': '', 'requirements.txt': 'opencv-python>=4.8\n' }]),
    C: await makeRepo(dir, 'NodeC', [{ '__init__.py': '', 'requirements.txt': 'opencv-contrib-python\n' }]),
  }
  // validate fills the git mirrors that realize --offline reads.
  const warm = spec(ctx, { T: 0, A: 0, B: 0, C: 0 }, {}, true)
  await ctx.w.writeSpec('sw', { ...warm, comfyui: { repo: ctx.repos.core.url, ref: 'master' }, custom_nodes: warm.custom_nodes.map(({ commit: _c, ...n }) => n) })
  const v = await ctx.w.cli(['validate', 'sw'])
  assert.is(v.code, 0, v.stderr)
}))
S.after(guarded(async ctx => { await ctx.w.cleanup() }))

S('a first realize with no torch installs the lock\'s torch as today (here the CUDA build a node pins)', async ctx => {
  await ctx.w.writeSpec('sw', spec(ctx, { T: 0, A: 0, B: 0 }, {}, true))
  const r = await ctx.w.cli(['realize', 'sw', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.equal(dists(ctx.w.home('sw')), ['demo-common 1.0', 'demo-old 1.0', 'opencv-python 4.9.0.80', 'torch 2.5.0+cu124'])
  // Realizing again is a no-op: the torch the tool just installed from the lock is what the lock chose.
  const again = await ctx.w.cli(['realize', 'sw', ...OFFLINE])
  assert.ok(again.json<Report>().tasks.every(t => t.status === 'skipped'), again.stdout)
  // A user installs a package by hand; no lock ever named it.
  const home = ctx.w.home('sw')
  const pip = await exec(join(home, '.venv', 'bin', 'python'), ['-m', 'pip', 'install', '--no-index', '--find-links', ctx.wheels, 'demo-hand'], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(pip.exitCode, 0, pip.stderr)
})

S('a node asking torch>=2.6 fails the compile naming the node, its ask, the protected build and the one spec change', async ctx => {
  await ctx.w.writeSpec('sw', spec(ctx, { T: 1, A: 0, B: 0 }))
  const r = await ctx.w.cli(['realize', 'sw', ...OFFLINE])
  assert.is(r.code, 1, r.stderr)
  const compile = task(r.json<Report>(), 'uv-compile')
  assert.is(compile.status, 'failed')
  for (const s of ['NodeT asks torch>=2.6', 'torch 2.5.0+cu124 is installed and protected', 'python.requirements']) assert.ok(compile.error!.includes(s), `"${s}" in: ${compile.error}`)
  assert.ok(dists(ctx.w.home('sw')).includes('torch 2.5.0+cu124'), 'nothing was replaced')
})

S('a node asking torch<2.6 (and one needing torch through a dependency) keeps 2.5.0+cu124; the switch removes what only the old version had and keeps the hand-installed one; two opencv asks give one cv2', async ctx => {
  await ctx.w.writeSpec('sw', spec(ctx, { T: 2, A: 1, B: 0, C: 0 }))
  const plan = await ctx.w.cli(['plan', 'sw', ...OFFLINE])
  assert.is(plan.code, 0, plan.stderr)
  assert.equal(plan.json<{ python: { protected: string[] } }>().python.protected, ['torch 2.5.0+cu124'])
  const text = await ctx.w.cli(['plan', 'sw', '--offline'])
  assert.match(text.stdout, /protected \(kept at their installed build\): torch 2\.5\.0\+cu124/)
  const r = await ctx.w.cli(['realize', 'sw', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  const report = r.json<Report>()
  assert.match(task(report, 'uv-compile').note!, /protected: torch 2\.5\.0\+cu124/)
  // opencv-python goes before contrib is installed: removed after, it would take cv2's files with it.
  assert.match(task(report, 'uv-install').note!, /2 removed \(opencv-python, demo-old\)/)
  const home = ctx.w.home('sw')
  assert.equal(dists(home), ['demo-common 1.0', 'demo-hand 1.0', 'demo-new 1.0', 'demo-vision 1.0', 'opencv-contrib-python 4.9.0.80', 'torch 2.5.0+cu124'])
  assert.is(await python(home, 'import torch, cv2; print(torch.__version__, cv2.flavor)'), '2.5.0+cu124 contrib')
  assert.match(r.stderr, /cv2: NodeB asks opencv-python>=4\.8; NodeC asks opencv-contrib-python → opencv-contrib-python \(contrib over plain\)/)
  const lock = readFileSync(join(ctx.w.cache, 'compiled', readdirSync(join(ctx.w.cache, 'compiled')).find(f => readFileSync(join(ctx.w.cache, 'compiled', f), 'utf8').includes('demo-new'))!), 'utf8')
  assert.match(lock, /^torch==2\.5\.0\+cu124  # protected \(python\.protect\)/m)
  assert.not.match(lock, /^opencv-python==/m)

  const v = await ctx.w.cli(['verify', 'sw', '--json'])
  assert.is(v.code, 0, v.stdout)
  const torch = v.json<Verify>().checks.find(c => c.id === 'python:torch')!
  assert.equal([torch.status, torch.detail], ['ok', '2.5.0+cu124 (kept: protected)'])
  const human = await ctx.w.cli(['verify', 'sw'])
  assert.match(human.stdout, /^protected \(kept at their installed build\): torch 2\.5\.0\+cu124$/m)
})

S('verify: a protected build changed by hand is drift; a hand-installed package is neither recorded nor a row', async ctx => {
  const home = ctx.w.home('sw')
  const py = join(home, '.venv', 'bin', 'python')
  const env = { PATH: process.env.PATH ?? '' }
  // The user replaces the protected torch and puts back what the switch removed (the tool's record still names it).
  const swap = await exec(py, ['-m', 'pip', 'install', '--no-index', '--find-links', ctx.wheels, 'torch==2.6.0'], { env })
  assert.is(swap.exitCode, 0, swap.stderr)
  const record = JSON.parse(readFileSync(join(home, '.comfy-vc', 'python-installed.json'), 'utf8')) as { installed: Record<string, string> }
  assert.not.ok('demo-hand' in record.installed, 'a hand-installed package is not the tool\'s')
  const v = await ctx.w.cli(['verify', 'sw', '--json'])
  assert.is(v.code, 1, v.stdout)
  const torch = v.json<Verify>().checks.find(c => c.id === 'python:torch')!
  assert.equal(torch.status, 'drift')
  assert.match(torch.detail!, /protected torch was 2\.5\.0\+cu124 when the lock was made; 2\.6\.0 is installed now/)
  assert.not.ok(v.json<Verify>().checks.some(c => c.id === 'python:demo-hand'), 'hand-installed packages are not rows')
})

S('only a pin in python.requirements replaces a protected build', async ctx => {
  const home = ctx.w.home('sw')
  const back = await exec(join(home, '.venv', 'bin', 'python'), ['-m', 'pip', 'install', '--no-index', '--find-links', ctx.image, 'torch==2.5.0+cu124'], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(back.exitCode, 0, back.stderr)
  await ctx.w.writeSpec('sw', spec(ctx, { T: 1, A: 1 }, { requirements: ['torch==2.6.0'] }))
  const r = await ctx.w.cli(['realize', 'sw', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.is(await python(home, 'import torch; print(torch.__version__)'), '2.6.0')
  assert.not.match(task(r.json<Report>(), 'uv-compile').note!, /protected:/, 'the pin lifted the protection')
})

S.run()
