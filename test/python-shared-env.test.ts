/**
 * Environments shared by lock, and an environment that already holds its lock not installed into again (issue 19),
 * through the real CLI on pip, with wheels the test builds and --offline. That no Python process starts in an
 * environment is seen from inside it: a sitecustomize.py in its site-packages appends a line to a file at every
 * start of its interpreter (pip included).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { addCommit, makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'
import { exec } from '../lib/util/exec.ts'

interface Ctx { w: World; wheels: string; core: TestRepo; A: TestRepo; E: TestRepo }
const S = suite<Ctx>('cli: environments shared by lock; one that holds its lock starts no installer')

type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; note?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const OFFLINE = ['--offline', '--json']

function spec(ctx: Ctx, commit: number, id = 'se', withScript = false) {
  return {
    schema_version: 2, id,
    comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
    custom_nodes: [
      { name: 'NodeA', repo: ctx.A.url, ref: 'main', commit: ctx.A.commits[commit] },
      ...(withScript ? [{ name: 'NodeE', repo: ctx.E.url, ref: 'main', commit: ctx.E.commits[0], install_script: true }] : []),
    ],
    python: { find_links: [ctx.wheels] },
  }
}

const venvOf = (ctx: Ctx, id: string) => join(ctx.w.home(id), '.venv')
async function imports(ctx: Ctx, id: string, modules: string): Promise<{ code: number | null; stderr: string }> {
  const r = await exec(join(venvOf(ctx, id), 'bin', 'python'), ['-c', `import ${modules}`], { env: { PATH: process.env.PATH ?? '' } })
  return { code: r.exitCode, stderr: r.stderr }
}
/** `name-version` of the test's distributions in an environment. */
const demoDists = (venv: string) => readdirSync(sitePackages(venv)).filter(d => d.startsWith('demo_') && d.endsWith('.dist-info')).sort()

/** An environment's site-packages (`venv` is a home's .venv or a folder under <cache>/envs). */
const sitePackages = (venv: string) => {
  const lib = join(venv, 'lib')
  return join(lib, readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!, 'site-packages')
}

S.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-shared-env-')
  ctx.wheels = join(ctx.w.dir, 'wheels')
  buildWheel(ctx.wheels, { name: 'demo-a', version: '1.0' })
  buildWheel(ctx.wheels, { name: 'demo-b', version: '1.0' })
  buildWheel(ctx.wheels, { name: 'demo-c', version: '1.0' })
  const dir = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(dir, 'ComfyUI', [{ 'main.py': '', 'requirements.txt': '' }], { branch: 'master' })
  // Commits 0 and 1 ask differently for what resolves to the same pins; commit 2 asks for more.
  ctx.A = await makeRepo(dir, 'NodeA', [{ '__init__.py': '', 'requirements.txt': 'demo-a\n' }])
  await addCommit(ctx.A, { 'requirements.txt': 'demo-a>=1.0\n' })
  await addCommit(ctx.A, { 'requirements.txt': 'demo-a\ndemo-b\n' })
  // An install.py that writes a module into the environment it runs with (as some nodes' do).
  ctx.E = await makeRepo(dir, 'NodeE', [{ '__init__.py': '', 'install.py': 'import sysconfig, os\nopen(os.path.join(sysconfig.get_paths()["purelib"], "from_install_script.py"), "w").write("x = 1\\n")\n' }])
  await ctx.w.writeSpec('se', { ...spec(ctx, 0), comfyui: { repo: ctx.core.url, ref: 'master' }, custom_nodes: [{ name: 'NodeA', repo: ctx.A.url, ref: 'main' }, { name: 'NodeE', repo: ctx.E.url, ref: 'main' }] })
  const v = await ctx.w.cli(['validate', 'se'])
  assert.is(v.code, 0, v.stderr)
}))
S.after(guarded(async ctx => { await ctx.w.cleanup() }))

S('a new lock with the same pins, and a switch back to a cached one, start no installer; one with another pin does', async ctx => {
  const home = ctx.w.home('se')
  await ctx.w.writeSpec('se', spec(ctx, 0))
  const first = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(first.code, 0, first.stderr)
  assert.match(task(first.json<Report>(), 'uv-install').note!, /^made the shared environment [0-9a-f]{12}: 1 installed/)

  // Other requirement text, same pins: the compile runs again (pip resolves) and makes the same lock, so the install
  // is not even decided again (early cutoff).
  await ctx.w.writeSpec('se', spec(ctx, 1))
  const same = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(same.code, 0, same.stderr)
  const sameReport = same.json<Report>()
  assert.is(task(sameReport, 'uv-compile').status, 'ran')
  assert.is(task(sameReport, 'uv-install').status, 'skipped')

  // Back to commit 0: its lock is cached, so nothing at all has a reason to start Python in the environment.
  const starts = join(ctx.w.dir, 'python-starts.txt')
  for (const env of readdirSync(join(ctx.w.cache, 'envs'))) {
    writeFileSync(join(sitePackages(join(ctx.w.cache, 'envs', env)), 'sitecustomize.py'), `import sys\nopen(${JSON.stringify(starts)}, 'a').write(repr(sys.argv) + '\\n')\n`)
  }
  await ctx.w.writeSpec('se', spec(ctx, 0))
  const back = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(back.code, 0, back.stderr)
  assert.match(task(back.json<Report>(), 'uv-compile').note!, /\(cached lock\)/)
  assert.is(task(back.json<Report>(), 'uv-install').status, 'skipped')
  assert.not.ok(existsSync(starts), 'no Python process started in the environment')

  // One more pin: the installer runs (and its start is seen).
  await ctx.w.writeSpec('se', spec(ctx, 2))
  const more = await ctx.w.cli(['realize', 'se', ...OFFLINE])
  assert.is(more.code, 0, more.stderr)
  assert.match(task(more.json<Report>(), 'uv-install').note!, /^made the shared environment [0-9a-f]{12}: 1 installed, 1 unchanged/)
  // The new lock's environment began as a copy of the old one (sitecustomize.py and all), and pip ran in it.
  assert.ok(existsSync(starts), 'pip ran in the environment')
  const r = await exec(join(home, '.venv', 'bin', 'python'), ['-c', 'import demo_a, demo_b'], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(r.exitCode, 0, r.stderr)
  const v = await ctx.w.cli(['verify', 'se', '--json'])
  assert.is(v.code, 0, v.stdout)
})

S('a second version with the same lock links the same environment: no installer, no Python process, a link for its disk', async ctx => {
  await ctx.w.writeSpec('one', spec(ctx, 0, 'one'))
  await ctx.w.writeSpec('two', spec(ctx, 0, 'two'))
  const first = await ctx.w.cli(['realize', 'one', ...OFFLINE])
  assert.is(first.code, 0, first.stderr)
  const starts = join(ctx.w.dir, 'python-starts-two.txt')
  for (const env of readdirSync(join(ctx.w.cache, 'envs'))) {
    writeFileSync(join(sitePackages(join(ctx.w.cache, 'envs', env)), 'sitecustomize.py'), `open(${JSON.stringify(starts)}, 'a').write('started\\n')\n`)
  }
  const second = await ctx.w.cli(['realize', 'two', ...OFFLINE])
  assert.is(second.code, 0, second.stderr)
  const report = second.json<Report>()
  assert.match(task(report, 'uv-install').note!, /^using the shared environment [0-9a-f]{12}: nothing to install: .*\(no installer started\)$/)
  assert.match(task(report, 'venv').note!, /^linked the shared empty environment/)
  assert.not.ok(existsSync(starts), 'the second realize started no Python process in any environment')
  assert.ok(lstatSync(venvOf(ctx, 'two')).isSymbolicLink(), "the second home's .venv is a link, not a copy")
  assert.is(realpathSync(venvOf(ctx, 'two')), realpathSync(venvOf(ctx, 'one')))
  assert.ok(realpathSync(venvOf(ctx, 'two')).startsWith(realpathSync(join(ctx.w.cache, 'envs'))))
  for (const id of ['one', 'two']) {
    const r = await imports(ctx, id, 'demo_a')
    assert.is(r.code, 0, r.stderr)
  }
  const v = await ctx.w.cli(['verify', 'two', '--json'])
  assert.is(v.code, 0, v.stdout)
})

S('a version whose lock differs gets another environment; the first one is unchanged', async ctx => {
  const before = demoDists(realpathSync(venvOf(ctx, 'one')))
  await ctx.w.writeSpec('three', spec(ctx, 2, 'three'))
  const r = await ctx.w.cli(['realize', 'three', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.is.not(realpathSync(venvOf(ctx, 'three')), realpathSync(venvOf(ctx, 'one')))
  assert.equal(demoDists(venvOf(ctx, 'three')), ['demo_a-1.0.dist-info', 'demo_b-1.0.dist-info'])
  assert.equal(demoDists(realpathSync(venvOf(ctx, 'one'))), before)
  assert.not.equal(before, demoDists(venvOf(ctx, 'three')))
  assert.is((await imports(ctx, 'one', 'demo_b')).code, 1, 'the first version does not see the other lock\'s package')
  // It began as a copy of the first one's; its scripts run its own interpreter, not the first's.
  const own = join(ctx.w.cache, 'envs', basename(realpathSync(venvOf(ctx, 'three'))))
  assert.match(readFileSync(join(own, 'bin', 'pip'), 'utf8').split('\n')[0]!, new RegExp(`^#!${own}/bin/python3?$`))
})

S('a copy of an environment killed halfway (the source\'s state file already copied, no python yet) is made again', async ctx => {
  const own = realpathSync(venvOf(ctx, 'three'))
  const source = realpathSync(venvOf(ctx, 'one'))
  rmSync(own, { recursive: true })
  mkdirSync(join(own, 'bin'), { recursive: true })
  copyFileSync(join(source, 'comfy-vc-env.json'), join(own, 'comfy-vc-env.json'))
  const r = await ctx.w.cli(['realize', 'three', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.is(task(r.json<Report>(), 'uv-install').status, 'ran')
  assert.equal(demoDists(venvOf(ctx, 'three')), ['demo_a-1.0.dist-info', 'demo_b-1.0.dist-info'])
  assert.is((await imports(ctx, 'three', 'demo_a, demo_b')).code, 0)
})

S('deleting one home leaves the other home\'s environment working', async ctx => {
  const env = realpathSync(venvOf(ctx, 'one'))
  const d = await ctx.w.cli(['delete', 'one'])
  assert.is(d.code, 0, d.stderr)
  assert.not.ok(existsSync(ctx.w.home('one')))
  assert.ok(existsSync(join(env, 'pyvenv.cfg')), 'delete removed the link, not the environment')
  const r = await imports(ctx, 'two', 'demo_a')
  assert.is(r.code, 0, r.stderr)
  const v = await ctx.w.cli(['verify', 'two', '--json'])
  assert.is(v.code, 0, v.stdout)
})

S('an install script writes into its version\'s own environment, never into the one another version uses', async ctx => {
  await ctx.w.writeSpec('four', spec(ctx, 0, 'four', true))
  const r = await ctx.w.cli(['realize', 'four', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.is(task(r.json<Report>(), 'install-script:NodeE').status, 'ran')
  assert.is.not(realpathSync(venvOf(ctx, 'four')), realpathSync(venvOf(ctx, 'two')), 'same lock, but install scripts: an environment of its own')
  const four = await imports(ctx, 'four', 'demo_a, from_install_script')
  assert.is(four.code, 0, four.stderr)
  assert.is((await imports(ctx, 'two', 'from_install_script')).code, 1, 'the other version\'s environment is unchanged')
})

S('a home whose .venv is a real folder (made before environments were shared) keeps it and is installed into in place', async ctx => {
  await ctx.w.writeSpec('own', spec(ctx, 0, 'own'))
  const first = await ctx.w.cli(['realize', 'own', ...OFFLINE])
  assert.is(first.code, 0, first.stderr)
  // As an older tool left it: the environment a folder in the home.
  rmSync(venvOf(ctx, 'own'))
  const made = await exec('python3', ['-m', 'venv', venvOf(ctx, 'own')], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(made.exitCode, 0, made.stderr)
  const r = await ctx.w.cli(['realize', 'own', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.ok(lstatSync(venvOf(ctx, 'own')).isDirectory(), 'still a folder, not a link')
  assert.match(task(r.json<Report>(), 'uv-install').note!, /^1 installed/)
  assert.equal(demoDists(venvOf(ctx, 'own')), ['demo_a-1.0.dist-info'])
  const again = await ctx.w.cli(['realize', 'own', ...OFFLINE])
  assert.ok(again.json<Report>().tasks.every(t => t.status === 'skipped'), again.stdout)
  const v = await ctx.w.cli(['verify', 'own', '--json'])
  assert.is(v.code, 0, v.stdout)
})

S('a hand install through one home changes the shared environment: verify says drift in every home on it, and --repair in one brings it back', async ctx => {
  await ctx.w.writeSpec('five', spec(ctx, 0, 'five'))
  const r = await ctx.w.cli(['realize', 'five', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.is(realpathSync(venvOf(ctx, 'five')), realpathSync(venvOf(ctx, 'two')))
  const pip = await exec(join(venvOf(ctx, 'two'), 'bin', 'python'), ['-m', 'pip', 'uninstall', '-y', 'demo-a'], { env: { PATH: process.env.PATH ?? '' } })
  assert.is(pip.exitCode, 0, pip.stderr)
  for (const id of ['two', 'five']) {
    const v = await ctx.w.cli(['verify', id, '--json'])
    assert.is(v.code, 1, v.stdout)
    assert.equal(v.json<{ checks: { id: string; status: string }[] }>().checks.find(c => c.id === 'python:demo-a')?.status, 'missing')
  }
  const fix = await ctx.w.cli(['realize', 'five', '--repair', ...OFFLINE])
  assert.is(fix.code, 0, fix.stderr)
  for (const id of ['two', 'five']) {
    const v = await ctx.w.cli(['verify', id, '--json'])
    assert.is(v.code, 0, v.stdout)
  }
})

S('two realizes at once of two versions with a new, same lock: one makes the environment, the other waits and links it', async ctx => {
  // demo-c is in no lock so far: the environment is new to the cache.
  for (const id of ['six', 'seven']) await ctx.w.writeSpec(id, { ...spec(ctx, 0, id), python: { find_links: [ctx.wheels], requirements: ['demo-c'] } })
  const [a, b] = await Promise.all(['six', 'seven'].map(id => ctx.w.cli(['realize', id, ...OFFLINE])))
  assert.is(a!.code, 0, a!.stderr)
  assert.is(b!.code, 0, b!.stderr)
  assert.is(realpathSync(venvOf(ctx, 'six')), realpathSync(venvOf(ctx, 'seven')))
  const notes = [a!, b!].map(r => task(r.json<Report>(), 'uv-install').note!)
  assert.is(notes.filter(n => n.startsWith('made ')).length, 1, notes.join('\n'))
  assert.ok(notes.some(n => /^using the shared environment [0-9a-f]{12}: nothing to install/.test(n)), notes.join('\n'))
  for (const id of ['six', 'seven']) {
    const r = await imports(ctx, id, 'demo_a, demo_c')
    assert.is(r.code, 0, r.stderr)
  }
})

S.run()
