/**
 * Python dependencies through the real CLI (issue 5), on pip with real wheels in a find-links folder
 * and --offline (pip gets --no-index): conflicts named, dangerous lines kept from pip, only the tasks
 * a change touches re-run, locks shared between versions, install.py run once.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, addCommit, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { startServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; wheels: string; repos: Record<'core' | 'A' | 'B' | 'C' | 'D' | 'E', TestRepo> }
const P = suite<Ctx>('cli: Python dependencies (collect, compile, install, install scripts)')

type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; details?: string[]; note?: string; skipped?: { source: string; line: string; reason: string }[] }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const ran = (r: Report) => r.tasks.filter(t => t.status === 'ran').map(t => t.id).sort()
/** plan's rows to run: those it is sure of, and those decided only once what they follow ran ("may run"). */
const planned = (r: Report) => {
  const rows = r.tasks as { id: string; status: string; reason: string }[]
  const run = rows.filter(t => t.status === 'run')
  return { will: run.filter(t => !t.reason.startsWith('may run')).map(t => t.id).sort(), may: run.filter(t => t.reason.startsWith('may run')).map(t => t.id).sort() }
}
const OFFLINE = ['--offline', '--json']

const DANGEROUS = ['-e git+https://example.com/x', '--find-links /tmp', 'demo-evil @ file:///etc']

/** Which commit of each node a spec takes (index into the repo's commits); E runs its install.py. */
function spec(ctx: Ctx, id: string, commits: Partial<Record<'A' | 'B' | 'C' | 'D' | 'E', number>>) {
  const { repos } = ctx
  return {
    schema_version: 2, id,
    comfyui: { repo: repos.core.url, ref: 'master', commit: repos.core.commits[0] },
    custom_nodes: (Object.entries(commits) as ['A' | 'B' | 'C' | 'D' | 'E', number][]).map(([n, i]) => ({
      name: `Node${n}`, repo: repos[n].url, ref: 'main', commit: repos[n].commits[i], ...(n === 'E' ? { install_script: true } : {}),
    })),
    python: { find_links: [ctx.wheels] },
  }
}

/** Distribution folders in the home's environment, e.g. `demo_numpy-1.5.dist-info`. */
function distInfos(home: string): string[] {
  const lib = join(home, '.venv', 'lib')
  const py = readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!
  return readdirSync(join(lib, py, 'site-packages')).filter(d => d.startsWith('demo_') && d.endsWith('.dist-info')).sort()
}

const installLines = (home: string) => readFileSync(join(home, 'custom_nodes', 'NodeE', 'installed.txt'), 'utf8').split('\n').filter(Boolean)
const locks = (ctx: Ctx) => readdirSync(join(ctx.w.cache, 'compiled')).filter(f => f.endsWith('.txt'))

P.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  const dir = join(ctx.w.dir, 'repos')
  ctx.wheels = join(ctx.w.dir, 'wheels')
  for (const [name, version] of [['demo-numpy', '1.5'], ['demo-numpy', '2.1'], ['demo-greet', '1.0'], ['demo-extra', '1.0'], ['demo-safe', '1.0'], ['demo-evil', '1.0']]) {
    buildWheel(ctx.wheels, { name: name!, version: version! })
  }
  const A = await makeRepo(dir, 'NodeA', [{ '__init__.py': 'a = 1\n', 'requirements.txt': 'demo-greet>=1.0\n' }])
  await addCommit(A, { 'requirements.txt': 'demo-greet>=1.0\ndemo-extra\n' })
  await addCommit(A, { '__init__.py': 'a = 2\n' })
  const C = await makeRepo(dir, 'NodeC', [{ '__init__.py': '', 'requirements.txt': 'demo-numpy>=2\n' }])
  await addCommit(C, { 'requirements.txt': 'demo-numpy>=1\n' })
  ctx.repos = {
    core: await makeRepo(dir, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' }),
    A,
    B: await makeRepo(dir, 'NodeB', [{ '__init__.py': '', 'requirements.txt': 'demo-numpy<2\n' }]),
    C,
    D: await makeRepo(dir, 'NodeD', [{ '__init__.py': '', 'requirements.txt': `demo-safe==1.0\n${DANGEROUS.join('\n')}\n` }]),
    E: await makeRepo(dir, 'NodeE', [{
      '__init__.py': '',
      'install.py': "import pathlib\nwith open(pathlib.Path(__file__).with_name('installed.txt'), 'a') as f:\n    f.write('ran\\n')\n",
    }]),
  }
  // validate resolves the unpinned refs, which fills the git mirrors that realize --offline uses.
  const warm = spec(ctx, 'warm', { A: 0, B: 0, C: 0, D: 0, E: 0 })
  warm.custom_nodes.forEach(n => { delete (n as { commit?: string }).commit })
  delete (warm.comfyui as { commit?: string }).commit
  await ctx.w.writeSpec('warm', warm)
  const v = await ctx.w.cli(['validate', 'warm'])
  assert.is(v.code, 0, v.stderr)
}))
P.after(guarded(async ctx => { await ctx.w.cleanup() }))

P('two nodes asking demo-numpy<2 and >=2: exit 1, uv-compile names both nodes and both specs', async ctx => {
  const { w } = ctx
  await w.writeSpec('py', spec(ctx, 'py', { A: 0, B: 0, C: 0, D: 0, E: 0 }))
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 1, r.stderr)
  const compile = task(r.json<Report>(), 'uv-compile')
  assert.is(compile.status, 'failed', JSON.stringify(compile))
  for (const s of ['NodeB', 'NodeC', 'demo-numpy<2', 'demo-numpy>=2']) assert.ok(compile.error!.includes(s), `"${s}" in: ${compile.error}`)
  assert.ok(compile.details!.length > 0, 'the resolver\'s explanation')
  assert.match(r.stderr, /NodeB asks demo-numpy<2; NodeC asks demo-numpy>=2/)
  assert.is(task(r.json<Report>(), 'uv-install').status, 'blocked')
  assert.is(task(r.json<Report>(), 'install-script:NodeE').status, 'blocked')
  assert.equal(distInfos(w.home('py')), [], 'nothing installed')
})

P('fixed (one node changed): packages land in .venv at the compiled versions; dangerous lines never reach pip', async ctx => {
  const { w } = ctx
  await w.writeSpec('py', spec(ctx, 'py', { A: 0, B: 0, C: 1, D: 0, E: 0 }))
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  const report = r.json<Report>()
  assert.equal(ran(report), ['clone-node:NodeC', 'collect-deps', 'install-script:NodeE', 'uv-compile', 'uv-install'])
  const home = w.home('py')
  assert.equal(distInfos(home), ['demo_greet-1.0.dist-info', 'demo_numpy-1.5.dist-info', 'demo_safe-1.0.dist-info'])
  const lock = readFileSync(join(w.cache, 'compiled', locks(ctx)[0]!), 'utf8')
  assert.equal(lock.split('\n').filter(Boolean).sort(), ['demo-greet==1.0', 'demo-numpy==1.5', 'demo-safe==1.0'])

  const collect = task(report, 'collect-deps')
  assert.equal(collect.skipped!.map(s => [s.source, s.line]), DANGEROUS.map(l => ['NodeD', l]))
  assert.ok(collect.skipped!.every(s => s.reason.length > 0))
  assert.match(collect.note!, /3 line\(s\) skipped/)
  for (const l of DANGEROUS) assert.ok(r.stderr.includes(l), `the log reports "${l}"`)
  // What pip said (uv-compile's and uv-install's log lines) never mentions them.
  const pipLines = r.stderr.split('\n').filter(l => !/skipped NodeD|collect-deps/.test(l))
  for (const s of [/demo[-_]evil/, /example\.com/, /file:\/\/\/etc/, /(^|[\s,:])\/tmp(\s|,|$)/]) {
    assert.not.ok(pipLines.some(l => s.test(l)), `${s} reached pip: ${pipLines.filter(l => s.test(l)).join(' | ')}`)
    assert.not.ok(s.test(lock))
  }
  assert.equal(installLines(home), ['ran'], 'install.py ran once')
})

P('realizing again changes nothing: every task skipped, install.py not run again', async ctx => {
  const { w } = ctx
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  const report = r.json<Report>()
  assert.ok(report.tasks.every(t => t.status === 'skipped' && (t as { reason?: string }).reason === 'up to date'), r.stdout)
  assert.equal(installLines(w.home('py')), ['ran'])
})

P('a second version with the same nodes reuses the compiled lock', async ctx => {
  const { w } = ctx
  await w.writeSpec('py2', spec(ctx, 'py2', { A: 0, B: 0, C: 1, D: 0, E: 0 }))
  const r = await w.cli(['realize', 'py2', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  const compile = task(r.json<Report>(), 'uv-compile')
  assert.is(compile.status, 'ran')
  assert.match(compile.note!, /cached lock/)
  assert.is(locks(ctx).length, 1, 'one lock in <cache>/compiled/')
  assert.equal(distInfos(w.home('py2')), distInfos(w.home('py')))
  assert.equal(installLines(w.home('py2')), ['ran'])
})

P('a node adding a requirement re-runs its clone and the dependency tasks, nothing else', async ctx => {
  const { w } = ctx
  await w.writeSpec('py', spec(ctx, 'py', { A: 1, B: 0, C: 1, D: 0, E: 0 }))
  const plan = await w.cli(['plan', 'py', ...OFFLINE])
  assert.is(plan.code, 0, plan.stderr)
  assert.is(task(plan.json<Report>(), 'clone-node:NodeA').status, 'run')
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.equal(ran(r.json<Report>()), ['clone-node:NodeA', 'collect-deps', 'install-script:NodeE', 'uv-compile', 'uv-install'])
  assert.ok(distInfos(w.home('py')).includes('demo_extra-1.0.dist-info'))
  assert.is(locks(ctx).length, 2)
})

P('a node commit that leaves requirements.txt alone re-runs only its clone', async ctx => {
  const { w } = ctx
  await w.writeSpec('py', spec(ctx, 'py', { A: 2, B: 0, C: 1, D: 0, E: 0 }))
  const plan = await w.cli(['plan', 'py', ...OFFLINE])
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.equal(ran(r.json<Report>()), ['clone-node:NodeA'])
  assert.equal(planned(plan.json<Report>()), { will: ['clone-node:NodeA'], may: ['collect-deps', 'install-script:NodeE', 'uv-compile', 'uv-install'] })
  assert.is(readFileSync(join(w.home('py'), 'custom_nodes', 'NodeA', '__init__.py'), 'utf8'), 'a = 2\n')
  assert.ok(existsSync(join(w.home('py'), '.venv')))
})

P('a deleted .venv link is linked again to its environment, with every package and what install.py did', async ctx => {
  const { w } = ctx
  const home = w.home('py')
  const before = distInfos(home)
  const runs = installLines(home).length
  assert.ok(lstatSync(join(home, '.venv')).isSymbolicLink(), 'the environment is in the cache, .venv links to it')
  rmSync(join(home, '.venv'), { recursive: true, force: true })
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.equal(ran(r.json<Report>()), ['uv-install', 'venv'])
  assert.match(task(r.json<Report>(), 'uv-install').note!, /^using the shared environment [0-9a-f]{12}: nothing to install/)
  assert.equal(distInfos(home), before)
  assert.is(installLines(home).length, runs, 'its environment was not lost: install.py does not run again')
})

P('a deleted environment is made again with every package, and install.py runs again', async ctx => {
  const { w } = ctx
  const home = w.home('py')
  const before = distInfos(home)
  const runs = installLines(home).length
  rmSync(realpathSync(join(home, '.venv')), { recursive: true, force: true })
  const plan = await w.cli(['plan', 'py', ...OFFLINE])
  const r = await w.cli(['realize', 'py', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  assert.equal(ran(r.json<Report>()), ['install-script:NodeE', 'uv-install', 'venv'])
  // plan cannot know that a new environment gives the same inputs: what follows venv only may run.
  const { will, may } = planned(plan.json<Report>())
  assert.equal(will, ['venv'])
  assert.ok(['install-script:NodeE', 'uv-install'].every(id => may.includes(id)), may.join(', '))
  assert.equal(distInfos(home), before)
  assert.is(installLines(home).length, runs + 1)
  const again = await w.cli(['realize', 'py', ...OFFLINE])
  assert.equal(ran(again.json<Report>()), [], 'and then it is a no-op again')
})


P('a version realized online is up to date offline: the lock an index gave is not resolved again (serverless build, then --offline)', async ctx => {
  const { w } = ctx
  // A PEP 503 index on 127.0.0.1 with demo-greet, and no find_links: offline, pip would have nothing to resolve from.
  const wheel = buildWheel(join(w.dir, 'index-files'), { name: 'demo-greet', version: '1.0' })
  const file = `/files/${basename(wheel)}`
  const index = await startServer({
    '/simple/demo-greet/': { handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<a href="${file}">${basename(wheel)}</a>`) },
    [file]: { body: readFileSync(wheel) },
  })
  try {
    const online = { ...spec(ctx, 'online', { A: 0 }), python: { index_url: `${index.url}/simple` } }
    await w.writeSpec('online', online)
    const first = await w.cli(['realize', 'online', '--json'])
    assert.is(first.code, 0, first.stderr)
    assert.equal(ran(first.json<Report>()).filter(id => id.startsWith('uv-')), ['uv-compile', 'uv-install'])
    assert.ok(index.hits('/simple/demo-greet/') > 0, 'the index was asked')
    const offline = await w.cli(['realize', 'online', ...OFFLINE])
    assert.is(offline.code, 0, offline.stderr)
    assert.equal(ran(offline.json<Report>()), [], 'nothing runs again offline')
    assert.equal(distInfos(w.home('online')), ['demo_greet-1.0.dist-info'])
  } finally {
    await index.close()
  }
})

P.run()
