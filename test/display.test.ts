import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeWorld, ROOT, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'
import { RunDisplay, CI_PROGRESS_MS, type Wrapper } from '../lib/engine/display.ts'
import { formatProgress } from '../lib/fetch/progress.ts'
import { runSummary } from '../lib/report/run-summary.ts'

const FIXTURES = join(ROOT, 'test', 'fixtures', 'display')
/** `UPDATE_FIXTURES=1` rewrites the captures from this machine's output (then review the diff). */
const UPDATE = process.env.UPDATE_FIXTURES === '1'

/** A wrapper as listr2 gives it, recording what the display asked of it. */
function recordingWrapper() {
  const outputs: string[] = []
  const states: string[] = []
  const w = {
    title: '',
    task: { state: 'STARTED', set state$(s: string) { this.state = s; states.push(s) } },
    set output(o: string) { outputs.push(o) },
    skip(m?: string) { outputs.push(`skip: ${m}`) },
  }
  return { wrapper: w as unknown as Wrapper, outputs, states, get title() { return w.title } }
}

const U = suite('display: what one task shows')

U('without a TTY a download prints one line per tenth, or every 30 s; the lines carry the task id', () => {
  let now = 0
  const d = new RunDisplay('simple', () => now)
  const r = recordingWrapper()
  const view = d.view('fetch-model:checkpoints/x.safetensors', r.wrapper)
  view.running()
  // Four reports a second for 100 s: 400 reports, as a 6.9 GB checkpoint at 69 MB/s gives them.
  for (let i = 0; i <= 400; i++) {
    now = i * 250
    view.progress(formatProgress({ bytes: i * 17_250_000, total: 6_900_000_000, rate: 69_000_000, etaS: 100 - i / 4 }))
  }
  assert.is(r.outputs.length, 11, r.outputs.join('\n'))
  assert.ok(r.outputs.every(o => o.startsWith('fetch-model:checkpoints/x.safetensors: ')))
  assert.equal(r.outputs.map(o => /: (\d+)%/.exec(o)?.[1]), ['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100'])
  // A slow one (or one of unknown size) still says it is alive.
  const slow = recordingWrapper()
  const v2 = d.view('fetch-model:big', slow.wrapper)
  v2.running()
  for (let s = 0; s <= 120; s++) { now = s * 1000; v2.progress(formatProgress({ bytes: s * 1000, rate: 1000 })) }
  assert.is(slow.outputs.length, 120_000 / CI_PROGRESS_MS + 1)
  d.stop()
})

U('on a terminal progress changes at most four times a second; a waiting task is WAITING until it runs', () => {
  let now = 0
  const d = new RunDisplay('default', () => now)
  const r = recordingWrapper()
  const view = d.view('uv-install', r.wrapper)
  assert.equal(r.states, ['WAITING'])
  now = 5_000
  view.running()
  assert.equal(r.states, ['WAITING', 'STARTED'])
  for (let t = 0; t < 1000; t += 10) { now = 5_000 + t; view.progress(`${t}`) }
  assert.is(r.outputs.length, 4)
  now = 7_300
  assert.is(view.finish({ id: 'uv-install', kind: 'uv-install', status: 'ran', ms: 2_300 }), undefined)
  assert.is(r.title, 'uv-install 2.3s')
  d.stop()
})

U('up to date is one quiet line; a failure is named, its cause left to the summary', () => {
  const d = new RunDisplay('simple')
  const up = recordingWrapper()
  d.view('venv', up.wrapper).finish({ id: 'venv', kind: 'venv', status: 'skipped', reason: 'up to date' })
  assert.match(up.title, /^venv .*\(up to date\)/)
  assert.equal(up.outputs, [])
  const bad = recordingWrapper()
  const v = d.view('uv-install', bad.wrapper)
  v.running()
  const error = v.finish({ id: 'uv-install', kind: 'uv-install', status: 'failed', ms: 3_200, error: 'pip could not resolve x==9' })
  assert.is(bad.title, 'uv-install failed after 3.2s')
  assert.not.match(error!.message, /pip could not resolve/)
  d.stop()
})

U("the summary names a failure's cause once, and what ran and what was up to date", () => {
  const doc = { version: 'v', home: '/h', ok: false, tasks: [
    { id: 'venv', kind: 'venv', status: 'ran' as const, ms: 65_000 },
    { id: 'link', kind: 'link', status: 'ran' as const, ms: 20 },
    { id: 'clone-core', kind: 'clone-core', status: 'skipped' as const, reason: 'up to date' },
    { id: 'uv-install', kind: 'uv-install', status: 'failed' as const, ms: 3_000, error: 'pip failed: ERROR: No matching distribution found for x==9\nFix: add a wheel folder to python.find_links', details: ['ERROR: No matching distribution found for x==9', 'Looking in links: /w'] },
  ] }
  assert.equal(runSummary(doc as never, { cancelled: false }), [
    'ran: venv 1m05s, link',
    'up to date: clone-core',
    '✖ uv-install: pip failed: ERROR: No matching distribution found for x==9',
    '    Looking in links: /w',
    'Fix: add a wheel folder to python.find_links',
    'failed: /h (2 ran, 1 up to date, 1 failed)',
  ])
})

U.run()

interface Ctx { w: World; core: TestRepo; a: TestRepo; srv: TestServer }
const C = suite<Ctx>('display: the renderers\' output, compared with captures')

C.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-display-')
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print(1)\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }], { branch: 'main' })
  // Two files of their own: with one URL for both, which task downloads and which finds it in the store is a race.
  ctx.srv = await startServer({ '/m.safetensors': { body: Buffer.alloc(300_000, 7), etag: '"m"' }, '/l.safetensors': { body: Buffer.alloc(200_000, 9), etag: '"l"' } })
}))
C.after(guarded(async ctx => { await ctx.srv.close(); await ctx.w.cleanup() }))

const spec = (ctx: Ctx, id: string) => ({
  schema_version: 2, id,
  comfyui: { repo: ctx.core.url, commit: ctx.core.commits[0] },
  custom_nodes: [{ repo: ctx.a.url, commit: ctx.a.commits[0] }],
  models: [
    { path: 'checkpoints/m.safetensors', url: `${ctx.srv.url}/m.safetensors` },
    // Wider than 80 columns: a terminal that narrow shows its lines cut, not wrapped over the next task's.
    { path: 'loras/a-lora-whose-file-name-is-long-enough-to-need-more-than-eighty-columns-v1.safetensors', url: `${ctx.srv.url}/l.safetensors` },
  ],
})

/** What varies from run to run and machine to machine: times, rates, the world's folder, Python's and pip's versions. */
function normalized(text: string, w: World): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '').split(w.dir).join('<world>')
    .replace(/\d+(\.\d+)? ?(kB|MB|GB|B)\/s/g, 'N B/s')
    .replace(/\b\d+(\.\d+)?s\b/g, 'Ns').replace(/\b\d+m\d+s\b/g, 'Ns')
    .replace(/Python \d+\.\d+\.\d+/g, 'Python X').replace(/pip \d+(\.\d+)+/g, 'pip X')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    // Shared environments are named by a key of the interpreter's path and the platform: another machine's differ.
    .replace(/envs\/[0-9a-f]{32}/g, 'envs/KEY').replace(/environment [0-9a-f]{12}\b/g, 'environment KEY')
    .split('\n').map(l => l.replace(/\s+$/, ''))
    // git's own progress comes when the remote is slow enough to send it: not every run.
    .filter(l => !/^› clone-(core|node:\S+): fetching:/.test(l))
    // Which tasks take a second or more (and are named with their times) depends on the machine.
    .map(l => (l.startsWith('ran: ') ? `ran: ${l.slice(5).split(', ').map(t => t.replace(/ Ns$/, '')).sort().join(', ')}` : l))
    .join('\n').replace(/\n+$/, '\n')
}

function compare(name: string, actual: string, sortLines: boolean): void {
  const file = join(FIXTURES, name)
  if (UPDATE || !existsSync(file)) writeFileSync(file, actual)
  const expected = readFileSync(file, 'utf8')
  // Tasks run side by side, so without a TTY their lines interleave differently each run: the set of lines is fixed.
  const order = (t: string) => (sortLines ? t.split('\n').sort().join('\n') : t)
  assert.fixture(order(actual), order(expected))
}

C('without a TTY (CI): a line per task start and end, output lines named, the summary with what ran and what was skipped', async ctx => {
  await ctx.w.writeSpec('ci', spec(ctx, 'ci'))
  const env = { CI: 'true', PIP_FIND_LINKS: undefined, PIP_INDEX_URL: undefined, PIP_EXTRA_INDEX_URL: undefined, PIP_CONFIG_FILE: '/dev/null' }
  const first = await ctx.w.cli(['realize', 'ci'], { env })
  assert.is(first.code, 0, first.stderr)
  compare('ci-first.txt', normalized(first.stderr, ctx.w), true)
  await ctx.w.cli(['delete', 'ci'], { env })
  const again = await ctx.w.cli(['realize', 'ci'], { env })
  assert.is(again.code, 0, again.stderr)
  // Everything is in the stores now: a new home is built from them, and the models are not fetched again.
  assert.match(normalized(again.stderr, ctx.w), /fetch-model:checkpoints\/m\.safetensors Ns: already in the store/)
})

const tmux = spawnSync('tmux', ['-V']).status === 0

for (const columns of [80, 160]) {
  C(`on a terminal ${columns} columns wide: the final frame lists every task once, with its own time`, async ctx => {
    if (!tmux) { console.log('  (skipped: tmux is not installed)'); return }
    const id = `tty${columns}`
    await ctx.w.writeSpec(id, spec(ctx, id))
    const session = `comfy-vc-display-${process.pid}-${columns}`
    const envs = Object.entries({ ...ctx.w.env, PIP_CONFIG_FILE: '/dev/null' }).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')
    const cmd = `cd ${JSON.stringify(ROOT)} && env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u CI ${envs} ${JSON.stringify(process.execPath)} --import tsx tasks/index.ts realize ${id}; tmux wait-for -S ${session}; sleep 600`
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', String(columns), '-y', '50', cmd])
    try {
      execFileSync('tmux', ['wait-for', session], { timeout: 120_000 })
      const screen = execFileSync('tmux', ['capture-pane', '-p', '-J', '-t', session], { encoding: 'utf8' })
      compare(`tty-${columns}.txt`, normalized(screen.replace(/^\n+/, ''), ctx.w), false)
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session])
    }
  })
}

C.run()
