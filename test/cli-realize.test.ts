import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { PassThrough } from 'node:stream'
import { writeFile, readFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { collect, makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, addCommit, type TestRepo } from './helpers/git-repos.ts'
import { makeGitShim } from './helpers/git-shim.ts'
import { follow, killLeftovers } from './helpers/follow.ts'
import { readHead } from '../lib/git/read-head.ts'
import { guarded } from './helpers/hooks.ts'
import { pollUntil } from './helpers/poll-until.ts'

/** `repos` and the repositories in it are shared and only read; `w` (versions, cache, homes) is each test's own. */
interface Ctx { repos: string; core: TestRepo; a: TestRepo; b: TestRepo; w: World }
const R = suite<Ctx>('cli: realize and plan (core and custom nodes)')

const spec = (ctx: Ctx, id: string, extra: Record<string, unknown> = {}, nodes?: unknown[]) => ({
  schema_version: 2, id,
  comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
  custom_nodes: nodes ?? [
    { repo: ctx.a.url, ref: 'main', commit: ctx.a.commits[0] },
    { repo: ctx.b.url, ref: 'main', commit: ctx.b.commits[0] },
  ],
  ...extra,
})

const statuses = (json: { tasks: { id: string; status: string }[] }) => Object.fromEntries(json.tasks.map(t => [t.id, t.status]))
const ran = (json: { tasks: { id: string; status: string }[] }) => json.tasks.filter(t => t.status === 'ran').map(t => t.id).sort()

/** Every file of a realized tree except git's and the tool's internals, with HEADs of checkouts. */
function tree(home: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      if (name === '.git') { out.push(`${relative(home, dir) || '.'} @ ${readHead(dir)}`); continue }
      if (name === '.comfy-vc' || name === '.venv') continue
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(home, p))
    }
  }
  walk(home)
  return out
}

/** The tree a realize of `spec(ctx, id)` makes (as `tree` lists it), whether it ran once or was killed and run again. */
const cleanTree = (ctx: Ctx) => [
  `. @ ${ctx.core.commits[0]}`, 'custom_nodes/NodeA @ ' + ctx.a.commits[0], 'custom_nodes/NodeA/__init__.py',
  `custom_nodes/NodeB @ ${ctx.b.commits[0]}`, 'custom_nodes/NodeB/__init__.py', 'custom_nodes/NodeB/lib/x.py',
  'custom_nodes/example_node.py.example', 'main.py', 'requirements.txt',
]

/** Writes the spec (default: both nodes at their first commit) and realizes it in the test's own world. */
async function realized(ctx: Ctx, id: string, s: unknown = spec(ctx, id)): Promise<string> {
  await ctx.w.writeSpec(id, s)
  const r = await ctx.w.cli(['realize', id])
  assert.is(r.code, 0, `the realize the test starts from failed:\n${r.stderr}`)
  return ctx.w.home(id)
}

/** The repositories the specs point at: built once, then only fetched from. */
R.before(guarded(async ctx => {
  const repos = ctx.repos = await mkdtemp(join(tmpdir(), 'comfy-vc-realize-repos-'))
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '', 'custom_nodes/example_node.py.example': '#\n' }], { branch: 'master' })
  ctx.a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }], { branch: 'main' })
  ctx.b = await makeRepo(repos, 'NodeB', [{ '__init__.py': 'b = 1\n', 'lib/x.py': 'x = 1\n' }], { branch: 'main' })
  await addCommit(ctx.a, { '__init__.py': 'a = 2\n' })
}))
// A world per test: a test that realizes a home realizes its own, so tests pass alone and in any order.
R.before.each(guarded(async ctx => { ctx.w = await makeWorld() }))
R.after.each(guarded(async ctx => { killLeftovers(); await ctx.w.cleanup() }))
R.after(guarded(async ctx => { await rm(ctx.repos, { recursive: true, force: true }) }))

R('realize builds the tree; a second realize skips every task and starts no git process', async ctx => {
  const { w } = ctx
  await w.writeSpec('one', spec(ctx, 'one'))
  const first = await w.cli(['realize', 'one', '--json'])
  assert.is(first.code, 0, first.stderr)
  assert.equal(tree(w.home('one')), cleanTree(ctx))
  assert.ok(first.json().tasks.every((t: { status: string }) => t.status === 'ran'))
  const shim = makeGitShim(w.dir)
  const second = await w.cli(['realize', 'one', '--json'], { env: { PATH: `${shim.binDir}:${process.env.PATH}` } })
  assert.is(second.code, 0, second.stderr)
  assert.ok(second.json().tasks.every((t: { status: string; reason: string }) => t.status === 'skipped' && t.reason === 'up to date'), second.stdout)
  assert.is(shim.count(), 0, `git ran: ${shim.lines().join('; ')}`)
})

R('changing one node\'s commit: plan says why, realize runs that node\'s task only', async ctx => {
  const { w } = ctx
  await realized(ctx, 'one')
  await w.writeSpec('one', spec(ctx, 'one', {}, [
    { repo: ctx.a.url, ref: 'main', commit: ctx.a.commits[1] },
    { repo: ctx.b.url, ref: 'main', commit: ctx.b.commits[0] },
  ]))
  const plan = await w.cli(['plan', 'one', '--json'])
  assert.is(plan.code, 0, plan.stderr)
  const row = plan.json().tasks.find((t: { id: string }) => t.id === 'clone-node:NodeA')
  assert.equal(row, { id: 'clone-node:NodeA', kind: 'clone-node', status: 'run', reason: `commit changed (${ctx.a.commits[0]!.slice(0, 10)} → ${ctx.a.commits[1]!.slice(0, 10)})` })
  const human = await w.cli(['plan', 'one'])
  assert.match(human.stdout, /run\s+clone-node:NodeA\s+commit changed/)
  const r = await w.cli(['realize', 'one', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.equal(ran(r.json()), ['clone-node:NodeA'])
  assert.is(readHead(join(w.home('one'), 'custom_nodes', 'NodeA')), ctx.a.commits[1])
})

R('local changes in a checkout are kept and reported; --force discards them', async ctx => {
  const { w } = ctx
  const home = await realized(ctx, 'one', spec(ctx, 'one', {}, [
    { repo: ctx.a.url, ref: 'main', commit: ctx.a.commits[1] },
    { repo: ctx.b.url, ref: 'main', commit: ctx.b.commits[0] },
  ]))
  const file = join(home, 'custom_nodes', 'NodeA', '__init__.py')
  await writeFile(file, 'a = "mine"\n')
  // NodeA back at its first commit: the checkout has to change, over the user's edit.
  await w.writeSpec('one', spec(ctx, 'one'))
  const r = await w.cli(['realize', 'one', '--json'])
  assert.is(r.code, 1)
  const t = r.json().tasks.find((x: { id: string }) => x.id === 'clone-node:NodeA')
  assert.is(t.status, 'failed')
  assert.match(t.error, /local/i)
  assert.ok(t.details.some((d: string) => d.includes('__init__.py')), JSON.stringify(t))
  assert.is(await readFile(file, 'utf8'), 'a = "mine"\n')
  const forced = await w.cli(['realize', 'one', '--force'])
  assert.is(forced.code, 0, forced.stderr)
  assert.is(await readFile(file, 'utf8'), 'a = 1\n')
})

R('disabling a node moves it under .disabled; dropping it removes only what the tool made', async ctx => {
  const { w } = ctx
  await realized(ctx, 'one')
  await w.writeSpec('one', spec(ctx, 'one', {}, [
    { repo: ctx.a.url, commit: ctx.a.commits[0], enabled: false },
    { repo: ctx.b.url, commit: ctx.b.commits[0] },
  ]))
  const r = await w.cli(['realize', 'one'])
  assert.is(r.code, 0, r.stderr)
  const home = w.home('one')
  assert.ok(existsSync(join(home, 'custom_nodes', '.disabled', 'NodeA', '__init__.py')))
  assert.not.ok(existsSync(join(home, 'custom_nodes', 'NodeA')))
  await mkdir(join(home, 'custom_nodes', 'UserNode'), { recursive: true })
  await w.writeSpec('one', spec(ctx, 'one', {}, [{ repo: ctx.b.url, commit: ctx.b.commits[0] }]))
  const dropped = await w.cli(['realize', 'one'])
  assert.is(dropped.code, 0, dropped.stderr)
  assert.match(dropped.stderr, /removed .*NodeA/)
  assert.not.ok(existsSync(join(home, 'custom_nodes', '.disabled', 'NodeA')))
  assert.ok(existsSync(join(home, 'custom_nodes', 'UserNode')), 'a folder the user made stays')
})

R('a commit that does not exist fails its task, exits 1 and lists the blocked tasks', async ctx => {
  const { w } = ctx
  await w.writeSpec('bad', spec(ctx, 'bad', {}, [{ repo: ctx.a.url, commit: 'f'.repeat(40) }]))
  const r = await w.cli(['realize', 'bad', '--json'])
  assert.is(r.code, 1)
  const s = statuses(r.json())
  assert.is(s['clone-node:NodeA'], 'failed')
  assert.is(s['collect-deps'], 'blocked')
  assert.is(s['clone-core'], 'ran')
  assert.match(r.stderr, /blocked \(a dependency failed\): collect-deps/)
  assert.match(r.stderr, /f{10}/)
  // list does not call the home realized.
  const row = (await w.cli(['list', '--json'])).json().versions.find((v: { id: string }) => v.id === 'bad')
  assert.equal([row.realized, row.incomplete], [false, true])
  assert.match((await w.cli(['list'])).stdout, /bad .*\(incomplete: its last realize failed or was stopped\)/)
})

R('realize killed with SIGKILL in the middle of a clone, then re-run, ends in the same tree', async ctx => {
  const { w } = ctx
  await w.writeSpec('killed', spec(ctx, 'killed'))
  const shim = makeGitShim(join(w.dir, 'hang'), { hangOn: 'checkout' })
  const child = w.spawn(['realize', 'killed'], { env: { PATH: `${shim.binDir}:${process.env.PATH}`, COMFY_CACHE_ROOT: join(w.dir, 'cache-killed') }, detached: true })
  const done = collect(child)
  await pollUntil('a checkout to start', () => shim.count('checkout') > 0)
  process.kill(-child.pid!, 'SIGKILL')
  await done
  const listed = async () => {
    const row = (await w.cli(['list', '--json'])).json().versions.find((v: { id: string }) => v.id === 'killed')
    return [row.realized, row.incomplete]
  }
  assert.equal(await listed(), [false, true], 'a killed realize leaves the home marked incomplete')
  const again = await w.cli(['realize', 'killed'], { env: { COMFY_CACHE_ROOT: join(w.dir, 'cache-killed') } })
  assert.is(again.code, 0, again.stderr)
  assert.equal(await listed(), [true, false])
  assert.equal(tree(w.home('killed')), cleanTree(ctx), 'the tree a realize that was never killed makes')
})

R('Ctrl-C during a realize exits 130 with its report, even delivered twice at once; the next realize finishes the tree', async ctx => {
  const { w } = ctx
  await w.writeSpec('intr', spec(ctx, 'intr'))
  // The fetch takes half a second to stop: the duplicate signal arrives while the realize is still stopping.
  const shim = makeGitShim(join(w.dir, 'hang-fetch'), { hangOn: 'fetch', stopDelayMs: 500 })
  const cache = join(w.dir, 'cache-intr')
  const child = w.spawn(['realize', 'intr', '--json'], { env: { PATH: `${shim.binDir}:${process.env.PATH}`, COMFY_CACHE_ROOT: cache } })
  const done = collect(child, { timeoutMs: 30_000 })
  await pollUntil('a fetch to start', () => shim.count('fetch') > 0)
  // A terminal's Ctrl-C reaches the whole group and a parent (tsx's CLI, npm) may relay it too: one interrupt.
  // Sent back to back, with no pause that a loaded machine could stretch past the CLI's 500 ms "same Ctrl-C" window.
  child.kill('SIGINT')
  child.kill('SIGINT')
  const r = await done
  // The second signal may land while Node is already exiting, which ends it by that SIGINT: a shell's $? is 130 all the same.
  assert.is(r.code ?? (r.signal === 'SIGINT' ? 130 : r.signal), 130, r.stderr)
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace')
  const report = r.json()
  assert.is(report.ok, false)
  assert.ok(report.tasks.some((t: { status: string }) => t.status === 'cancelled'), r.stdout)
  const again = await w.cli(['realize', 'intr'], { env: { COMFY_CACHE_ROOT: cache } })
  assert.is(again.code, 0, again.stderr)
  assert.is(readHead(join(w.home('intr'), 'custom_nodes', 'NodeB')), ctx.b.commits[0])
})

R('a second realize of the same home waits for the first, says so, and finishes the tree once the first has stopped', async ctx => {
  const { w } = ctx
  await w.writeSpec('same', spec(ctx, 'same'))
  const cache = join(w.dir, 'cache-same')
  // The first realize stops in a checkout until it is interrupted.
  const shim = makeGitShim(join(w.dir, 'hang-same'), { hangOn: 'checkout' })
  const first = follow(w.spawn(['realize', 'same'], { env: { PATH: `${shim.binDir}:${process.env.PATH}`, COMFY_CACHE_ROOT: cache }, detached: true }))
  await pollUntil('the first realize to reach a checkout', () => shim.count('checkout') > 0, { explain: () => first.stderr() })
  const second = follow(w.spawn(['realize', 'same'], { env: { COMFY_CACHE_ROOT: cache }, detached: true }))
  await second.waitFor('stderr', /waiting for another realize of \S*same \(held by pid \d+/)
  first.child.kill('SIGINT')
  assert.is((await first.exit).code, 130, first.stderr())
  const done = await second.exit
  assert.is(done.code, 0, second.stderr())
  assert.not.match(second.stderr(), /ENOTEMPTY|\n\s+at /)
  assert.is(readHead(join(w.home('same'), 'custom_nodes', 'NodeB')), ctx.b.commits[0])
})

R('two realizes of versions sharing repositories, started together, both succeed', async ctx => {
  const { w } = ctx
  const cache = join(w.dir, 'cache-shared')
  await w.writeSpec('p1', spec(ctx, 'p1'))
  await w.writeSpec('p2', spec(ctx, 'p2', {}, [{ repo: ctx.a.url, commit: ctx.a.commits[1] }, { repo: ctx.b.url, commit: ctx.b.commits[0] }]))
  const [r1, r2] = await Promise.all([w.cli(['realize', 'p1'], { env: { COMFY_CACHE_ROOT: cache } }), w.cli(['realize', 'p2'], { env: { COMFY_CACHE_ROOT: cache } })])
  assert.is(r1.code, 0, r1.stderr)
  assert.is(r2.code, 0, r2.stderr)
  assert.is(readHead(join(w.home('p2'), 'custom_nodes', 'NodeA')), ctx.a.commits[1])
  assert.is(readdirSync(join(cache, 'git')).filter(n => n.endsWith('.git')).length, 3, 'one mirror per repository')
})

R('--offline works from warm mirrors and names what is missing from cold ones', async ctx => {
  const { w } = ctx
  // Warm mirrors: validate fetches the repositories to resolve unpinned refs (and realizes nothing).
  await w.writeSpec('unpinned', { schema_version: 2, id: 'unpinned', comfyui: { repo: ctx.core.url, ref: 'master' }, custom_nodes: [{ repo: ctx.a.url, ref: 'main' }, { repo: ctx.b.url, ref: 'main' }] })
  const validated = await w.cli(['validate', 'unpinned'])
  assert.is(validated.code, 0, validated.stderr)
  await w.writeSpec('off', spec(ctx, 'off'))
  // Another home for the cold run below: it must not find this one realized.
  const warm = await w.cli(['realize', 'off', '--offline'], { env: { COMFY_HOME: join(w.dir, 'offhome') } })
  assert.is(warm.code, 0, warm.stderr)
  const cold = await w.cli(['realize', 'off', '--json'], { env: { COMFY_CACHE_ROOT: join(w.dir, 'cache-cold'), COMFY_OFFLINE: '1' } })
  assert.is(cold.code, 1)
  const core = cold.json().tasks.find((t: { id: string }) => t.id === 'clone-core')
  assert.is(core.status, 'failed')
  assert.match(core.error, /offline/i)
  assert.match(core.error, /ComfyUI/)
})

R('an unpinned spec is resolved through the mirrors and said so; --frozen refuses it', async ctx => {
  const { w } = ctx
  await w.writeSpec('loose', { schema_version: 2, id: 'loose', comfyui: { repo: ctx.core.url, ref: 'master' }, custom_nodes: [{ repo: ctx.a.url, ref: 'main' }] })
  const frozen = await w.cli(['realize', 'loose', '--frozen'])
  assert.is(frozen.code, 2)
  assert.match(frozen.stderr, /versions\/loose\.json: custom_nodes\[0\]\.commit: --frozen/)
  assert.not.ok(existsSync(w.home('loose')))
  const r = await w.cli(['realize', 'loose'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, new RegExp(`resolved NodeA: main → ${ctx.a.commits[1]!.slice(0, 10)}`))
  // Its refs are read from the mirrors' files: the no-op starts no git either.
  const shim = makeGitShim(join(w.dir, 'shim-loose'))
  const again = await w.cli(['realize', 'loose', '--json'], { env: { PATH: `${shim.binDir}:${process.env.PATH}` } })
  assert.is(again.code, 0, again.stderr)
  assert.ok(again.json().tasks.every((t: { status: string }) => t.status === 'skipped'), again.stdout)
  assert.is(shim.count(), 0, `git ran: ${shim.lines().join('; ')}`)
})

R('realize hands its environment (io.env) to every git it starts, not the process\'s', async ctx => {
  const { w } = ctx
  // URLs only the run's own global git config resolves, and a git on the run's PATH that records a variable of the run.
  const config = join(w.dir, 'run-env-gitconfig')
  await writeFile(config, [ctx.core, ctx.a].map(r => `[url "${r.url}"]\n\tinsteadOf = https://only-in-the-run.invalid/${r.dir.split('/').pop()}\n`).join(''))
  const shim = makeGitShim(join(w.dir, 'shim-run-env'), { recordEnv: 'COMFY_VC_TEST_RUN' })
  const env = {
    ...w.env, PATH: `${shim.binDir}:${process.env.PATH}`, GIT_CONFIG_GLOBAL: config, COMFY_VC_TEST_RUN: 'the-run',
    COMFY_CACHE_ROOT: join(w.dir, 'cache-run-env'),
  }
  assert.is(process.env.COMFY_VC_TEST_RUN, undefined)
  await w.writeSpec('run-env', {
    schema_version: 2, id: 'run-env', comfyui: { repo: 'https://only-in-the-run.invalid/ComfyUI', ref: 'master' },
    custom_nodes: [{ repo: 'https://only-in-the-run.invalid/NodeA', ref: 'main' }],
  })
  const { default: realize } = await import('../tasks/realize.ts')
  const { parseCommandArgs } = await import('../tasks/_cli.ts')
  const out: string[] = [], err: string[] = []
  const signal = new AbortController().signal
  setMaxListeners(0, signal)
  const code = await realize.run(parseCommandArgs(realize, ['run-env', '--json']), {
    out: t => { out.push(t) }, err: t => { err.push(t) }, env, cwd: w.dir, signal, isTTY: false, progressStream: new PassThrough().resume() as unknown as NodeJS.WriteStream,
  })
  assert.is(code, 0, err.join('\n'))
  assert.match(err.join('\n'), new RegExp(`resolved NodeA: main → ${ctx.a.commits[1]!.slice(0, 10)}`), 'prepare resolved the ref with the run\'s environment')
  assert.is(readHead(w.home('run-env')), ctx.core.commits[0])
  assert.is(readHead(join(w.home('run-env'), 'custom_nodes', 'NodeA')), ctx.a.commits[1])
  const lines = shim.lines()
  for (const command of ['fetch', 'ls-remote', 'clone', 'checkout']) assert.ok(lines.some(l => l.split(' ').includes(command)), `git ${command} ran on the run's PATH`)
  assert.equal(lines.filter(l => !l.startsWith('COMFY_VC_TEST_RUN=the-run ')), [], 'every git had the run\'s variables')
})

R('a node dropped from the spec is removed unless it holds work of its own (a file, a commit); --force removes it', async ctx => {
  const { w } = ctx
  const nodeA = { repo: ctx.a.url, ref: 'main', commit: ctx.a.commits[0] }
  const nodeB = { repo: ctx.b.url, ref: 'main', commit: ctx.b.commits[0] }
  const realize = async (nodes: unknown[], ...flags: string[]) => {
    await w.writeSpec('drop', spec(ctx, 'drop', {}, nodes))
    const r = await w.cli(['realize', 'drop', ...flags])
    assert.is(r.code, 0, r.stderr)
    return r.stderr
  }
  await realize([nodeA, nodeB])
  const a = join(w.home('drop'), 'custom_nodes', 'NodeA')
  const b = join(w.home('drop'), 'custom_nodes', 'NodeB')
  await writeFile(join(a, 'settings.json'), '{"mine": true}\n')
  await mkdir(join(b, '__pycache__'))
  await writeFile(join(b, '__pycache__', 'x.cpython-311.pyc'), 'made by Python, not by the user')

  let said = await realize([])
  assert.match(said, /NodeA left the spec but holds work of its own \(settings\.json\); kept at .*NodeA \(--force removes it\)/)
  assert.is(await readFile(join(a, 'settings.json'), 'utf8'), '{"mine": true}\n')
  assert.match(said, /removed .*NodeB \(no longer in the spec\)/)
  assert.not.ok(existsSync(b))

  await realize([nodeB])
  const git = (...args: string[]) => execFileSync('git', ['-C', b, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { stdio: 'pipe' })
  git('commit', '--allow-empty', '-m', 'my own work')
  said = await realize([])
  assert.match(said, /NodeB left the spec but holds work of its own \(\(commits, stashes or staged files of its own\)\)/)
  assert.ok(existsSync(join(b, '.git')))

  await realize([nodeB])
  said = await realize([], '--force')
  assert.match(said, /removed .*NodeB/)
  assert.not.ok(existsSync(b))
})

R('a folder the tool did not create is refused with exit 2', async ctx => {
  const { w } = ctx
  await w.writeSpec('mine', spec(ctx, 'mine'))
  await mkdir(w.home('mine'), { recursive: true })
  await writeFile(join(w.home('mine'), 'notes.txt'), 'my stuff\n')
  const r = await w.cli(['realize', 'mine'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /not empty and was not created by comfy-vc/)
  assert.equal(readdirSync(w.home('mine')), ['notes.txt'])
})

R('a plugin from cache.config.ts adds a task after link, and it runs once', async ctx => {
  const { w } = ctx
  const dir = join(w.dir, 'plugin-cwd')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'cache.config.ts'), `
import { appendFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
export default {
  plugins: [{
    kind: 'post-realize', resource: 'none',
    tasks: (_spec, _env, compiled) => [{ id: 'post-realize', kind: 'post-realize', deps: compiled.filter(t => t.kind === 'link').map(t => t.id), inputs: { message: 'hello' } }],
    outputsStand: async (_t, _r, ctx) => existsSync(join(ctx.env.home, 'post-realize.txt')),
    run: async (_t, ctx) => { appendFileSync(join(ctx.env.home, 'post-realize.txt'), 'ran\\n'); return { outputs: null, note: 'wrote post-realize.txt' } },
  }],
}
`)
  await w.writeSpec('plug', spec(ctx, 'plug'))
  const first = await w.cli(['realize', 'plug', '--json'], { cwd: dir })
  assert.is(first.code, 0, first.stderr)
  assert.is(statuses(first.json())['post-realize'], 'ran')
  const second = await w.cli(['realize', 'plug', '--json'], { cwd: dir })
  assert.is(statuses(second.json())['post-realize'], 'skipped')
  assert.is(await readFile(join(w.home('plug'), 'post-realize.txt'), 'utf8'), 'ran\n')
})

R.run()
