import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { redact } from '../lib/util/redact.ts'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { compileGraph } from '../lib/graph/compile.ts'
import { execute, type ExecuteOptions } from '../lib/engine/execute.ts'
import { planGraph } from '../lib/engine/plan.ts'
import { MarkerStore } from '../lib/engine/markers.ts'
import { depIdentity } from '../lib/graph/fingerprint.ts'
import { TaskFailure, type GraphEnv, type ResolvedSpec, type TaskDef, type TaskPlugin } from '../lib/graph/plugin.ts'
import { SpecSchema } from '../lib/spec/schema.ts'

/** A graph of fake tasks: `edges` maps a task id to its dependencies; behaviour per id. */
interface Fake { deps: string[]; fail?: boolean; ms?: number; resource?: 'git' | 'cpu' | 'network'; onStart?(): void; until?: Promise<void> }

function fakeWorld(tasks: Record<string, Fake>) {
  const runs: string[] = []
  let active = 0, maxActive = 0
  const standing = new Set<string>()
  const plugin: TaskPlugin = {
    kind: 'fake', resource: 'cpu',
    tasks: () => Object.entries(tasks).map(([id, t]): TaskDef => ({ id, kind: 'fake', deps: t.deps, inputs: { id, fail: !!t.fail } })),
    outputsStand: async task => standing.has(task.id),
    async run(task, ctx) {
      active++; maxActive = Math.max(maxActive, active)
      try {
        runs.push(task.id)
        const fake = tasks[task.id]!
        await new Promise((resolve, reject) => {
          // A task ends when its gate opens (or after `ms`), or fails when the run is aborted.
          const t = fake.until ? undefined : setTimeout(resolve, fake.ms ?? 5)
          void fake.until?.then(resolve)
          ctx.signal.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')) }, { once: true })
          fake.onStart?.()
        })
        if (tasks[task.id]!.fail) throw new TaskFailure(`${task.id} broke`, ['detail line'])
        standing.add(task.id)
        return { outputs: { made: task.id } }
      } finally { active-- }
    },
  }
  const spec = SpecSchema.parse({ schema_version: 2, id: 'x', comfyui: { repo: 'https://h/x', commit: 'a'.repeat(40) } }) as ResolvedSpec
  const env: GraphEnv = { home: '/h', cacheRoot: '/c', modelsDir: '/m', installer: 'auto', linkMode: 'symlink' }
  const g = compileGraph(spec, env, [plugin])
  if (!g.ok) throw new Error(g.error.join())
  return { graph: g.value, plugin, runs, standing, active: () => active, maxActive: () => maxActive, spec, env }
}

const sink = new Writable({ write(_c, _e, cb) { cb() } }) as unknown as NodeJS.WriteStream

async function run(w: ReturnType<typeof fakeWorld>, markers: MarkerStore, extra: Partial<ExecuteOptions> = {}) {
  return execute({
    graph: w.graph, plugins: new Map([['fake', w.plugin]]), markers,
    base: { spec: w.spec, env: w.env, config: {} as never, secrets: ['s3cret-token'], force: false, processEnv: {} },
    limits: { git: 4, network: 4, cpu: 4, total: Infinity }, signal: new AbortController().signal,
    renderer: 'silent', stream: sink, ...extra,
  })
}

const E = suite('engine')
let dir = ''
E.before.each(async () => { dir = await mkdtemp(join(tmpdir(), 'comfy-vc-engine-')) })
E.after.each(async () => { await rm(dir, { recursive: true, force: true }) })

E('runs every task once, dependencies first, then skips them all', async () => {
  const w = fakeWorld({ a: { deps: [] }, b: { deps: ['a'] }, c: { deps: ['a'] }, d: { deps: ['b', 'c'] } })
  const markers = new MarkerStore(join(dir, 'markers'))
  const first = await run(w, markers)
  assert.ok(first.ok)
  assert.equal(first.tasks.map(t => t.status), ['ran', 'ran', 'ran', 'ran'])
  assert.is(w.runs[0], 'a'); assert.is(w.runs[3], 'd')
  const second = await run(w, markers)
  assert.equal(second.tasks.map(t => [t.id, t.status, t.reason]), [['a', 'skipped', 'up to date'], ['b', 'skipped', 'up to date'], ['c', 'skipped', 'up to date'], ['d', 'skipped', 'up to date']])
  assert.is(w.runs.length, 4)
})

E('a task whose outputs are gone runs again, with what depends on nothing else unchanged', async () => {
  const w = fakeWorld({ a: { deps: [] }, b: { deps: ['a'] } })
  const markers = new MarkerStore(join(dir, 'markers'))
  await run(w, markers)
  w.standing.delete('a')
  const again = await run(w, markers)
  assert.equal(again.tasks.map(t => t.status), ['ran', 'skipped'])
})

E('a failure blocks its dependents, independent tasks finish, and no marker is written for it', async () => {
  const w = fakeWorld({ a: { deps: [] }, bad: { deps: ['a'], fail: true }, after: { deps: ['bad'] }, later: { deps: ['after'] }, free: { deps: [], ms: 30 } })
  const markers = new MarkerStore(join(dir, 'markers'))
  const r = await run(w, markers)
  assert.not.ok(r.ok)
  const by = Object.fromEntries(r.tasks.map(t => [t.id, t]))
  assert.is(by.bad!.status, 'failed'); assert.is(by.bad!.error, 'bad broke'); assert.equal(by.bad!.details, ['detail line'])
  assert.is(by.after!.status, 'blocked'); assert.is(by.after!.reason, 'bad failed')
  assert.is(by.later!.status, 'blocked'); assert.is(by.later!.reason, 'after was blocked')
  assert.is(by.free!.status, 'ran')
  assert.is(await markers.read('bad'), undefined)
  assert.ok(await markers.read('free'))
})

E('the stored marker is removed before a task runs again', async () => {
  const w = fakeWorld({ a: { deps: [] } })
  const markers = new MarkerStore(join(dir, 'markers'))
  await run(w, markers)
  w.standing.delete('a')
  const tasks = (w.plugin.tasks as () => TaskDef[])
  // Make the re-run fail: its old marker must not survive to claim it is up to date.
  const failing: TaskPlugin = { ...w.plugin, tasks: () => tasks().map(t => t), run: async () => { throw new TaskFailure('second run failed') } }
  const r = await execute({
    graph: w.graph, plugins: new Map([['fake', failing]]), markers,
    base: { spec: w.spec, env: w.env, config: {} as never, secrets: [], force: false, processEnv: {} },
    limits: { git: 1, network: 1, cpu: 1, total: Infinity }, signal: new AbortController().signal, renderer: 'silent', stream: sink,
  })
  assert.is(r.tasks[0]!.status, 'failed')
  assert.is(await markers.read('a'), undefined)
})

E('with one slot, tasks waiting on dependencies hold none (no deadlock in reverse order)', async () => {
  const w = fakeWorld({ c: { deps: ['b'] }, d: { deps: ['b'] }, b: { deps: ['a'] }, a: { deps: [] } })
  const r = await run(w, new MarkerStore(join(dir, 'markers')), { limits: { git: 1, network: 1, cpu: 1, total: 1 } })
  assert.ok(r.ok)
  assert.is(w.maxActive(), 1)
})

E('independent tasks run concurrently up to the resource limit', async () => {
  // The tasks end only once three run at the same time: a limit that let fewer in would never end, one that let
  // more in shows in maxActive. No clock decides it.
  let open!: () => void
  const gate = new Promise<void>(resolve => { open = resolve })
  const tasks: Record<string, Fake> = {}
  for (let i = 0; i < 6; i++) tasks[`t${i}`] = { deps: [], until: gate }
  const w = fakeWorld(tasks)
  for (const t of Object.values(tasks)) t.onStart = () => { if (w.active() === 3) open() }
  await run(w, new MarkerStore(join(dir, 'markers')), { limits: { git: 4, network: 4, cpu: 3, total: Infinity } })
  assert.is(w.maxActive(), 3)
})

E('an abort cancels running and waiting tasks', async () => {
  const ac = new AbortController()
  // Aborted once the slow task is running, whatever the machine's speed.
  const w = fakeWorld({ slow: { deps: [], until: new Promise(() => {}), onStart: () => ac.abort() }, next: { deps: ['slow'] } })
  const r = await run(w, new MarkerStore(join(dir, 'markers')), { signal: ac.signal })
  assert.ok(r.cancelled)
  assert.equal(r.tasks.map(t => t.status), ['cancelled', 'cancelled'])
})

E('secrets are redacted from failure messages', async () => {
  const w = fakeWorld({ a: { deps: [] } })
  const leaky: TaskPlugin = { ...w.plugin, run: async () => { throw new TaskFailure('GET https://user:pw@host/x failed with s3cret-token') } }
  const r = await run({ ...w, plugin: leaky }, new MarkerStore(join(dir, 'markers')))
  assert.is(r.tasks[0]!.error, 'GET https://****@host/x failed with ****')
})

E('a marker keeps credentials out and stays JSON: tokens and signatures in a query, an empty user name', async () => {
  const markers = new MarkerStore(join(dir, 'markers'))
  const url = 'https://h.example/m.bin?token=QTOKEN_s3cr3t&hf_token=HFQ_s3cr3t&X-Amz-Signature=SIG_s3cr3t&download=1'
  const repo = 'http://:GITPASS_s3cr3t@h.example/r.git'
  await markers.write({ id: 'fetch-model:m', fingerprint: 'f', record: { kind: 'fetch-model', cache_schema: 1, inputs: { url, repo }, discovered: {}, deps: {} }, outputs: { url } })
  const text = await readFile(join(dir, 'markers', (await readdir(join(dir, 'markers')))[0]!), 'utf8')
  assert.not.match(text, /s3cr3t/)
  const read = await markers.read('fetch-model:m')
  assert.ok(read, 'the marker reads back (it would not if redaction had eaten a closing quote)')
  assert.equal(read!.outputs, { url: 'https://h.example/m.bin?token=****&hf_token=****&X-Amz-Signature=****&download=1' })
  assert.is(redact(`"${repo}"`), '"http://****@h.example/r.git"')
})

/**
 * A chain a → b → c whose inputs, outputs and discovered inputs a test changes between runs, for holding plan's
 * answers against the executor's on the same state.
 */
function chainWorld(opts: { cutoff?: boolean } = {}) {
  const state = {
    inputs: { a: 1, b: 1, c: 1 } as Record<string, number>, standing: new Set<string>(), seen: 'x', discoverFails: false,
    /** What b makes: by default its input, so a new input makes a new output. */
    bMakes: undefined as number | undefined, runs: [] as string[],
  }
  const plugin: TaskPlugin = {
    // With cutoff, dependents depend on what a task made, not on its fingerprint.
    ...(opts.cutoff ? { outputHash: (o: unknown) => o as never } : {}),
    kind: 'chain', resource: 'cpu',
    tasks: () => [
      { id: 'a', kind: 'chain', deps: [], inputs: { v: state.inputs.a! } },
      { id: 'b', kind: 'chain', deps: ['a'], inputs: { v: state.inputs.b! } },
      { id: 'c', kind: 'chain', deps: ['b'], inputs: { v: state.inputs.c! } },
    ],
    async discover(task) {
      if (task.id !== 'c') return {}
      if (state.discoverFails) throw new TaskFailure('requirements.txt cannot be read')
      return { seen: state.seen }
    },
    outputsStand: async task => state.standing.has(task.id),
    async run(task) {
      state.standing.add(task.id)
      state.runs.push(task.id)
      return { outputs: { made: task.id, v: task.id === 'b' ? state.bMakes ?? state.inputs.b! : state.inputs[task.id]! } }
    },
  }
  const spec = SpecSchema.parse({ schema_version: 2, id: 'x', comfyui: { repo: 'https://h/x', commit: 'a'.repeat(40) } }) as ResolvedSpec
  const env: GraphEnv = { home: '/h', cacheRoot: '/c', modelsDir: '/m', installer: 'auto', linkMode: 'symlink' }
  const base = { spec, env, config: {} as never, secrets: [], force: false, processEnv: {} }
  const graphNow = () => { const g = compileGraph(spec, env, [plugin]); if (!g.ok) throw new Error(g.error.join()); return g.value }
  return {
    state,
    /** plan, then realize, on the state as it is: both answers, by task. */
    async planThenRealize(markers: MarkerStore) {
      const graph = graphNow()
      const plugins = new Map([['chain', plugin]])
      const signal = new AbortController().signal
      const planned = await planGraph({ graph, plugins, markers: new Map((await markers.all()).map(m => [m.id, m])), base, signal })
      const realized = await execute({ graph, plugins, markers, base, limits: { git: 1, network: 1, cpu: 1, total: Infinity }, signal, renderer: 'silent', stream: sink })
      return graph.order.map(id => ({ id, plan: planned.find(r => r.id === id)!, realize: realized.tasks.find(t => t.id === id)! }))
    },
  }
}

/**
 * Plan and realize agree: what plan skips, realize skips; what realize runs (or fails, or blocks), plan runs; a
 * definite "run" (not "may run") is run by realize; and where plan could decide, it gives realize's reason.
 */
function assertAgree(rows: Awaited<ReturnType<ReturnType<typeof chainWorld>['planThenRealize']>>, expected: string) {
  for (const { id, plan, realize } of rows) {
    if (plan.status === 'skip') assert.is(realize.status, 'skipped', `${id}: plan skips it, realize ${realize.status} it (${realize.reason ?? realize.error})`)
    else if (!plan.reason.startsWith('may run')) assert.ok(['ran', 'failed', 'blocked'].includes(realize.status), `${id}: plan runs it (${plan.reason}), realize ${realize.status}`)
    if (realize.status !== 'skipped') assert.is(plan.status, 'run', `${id}: realize ${realize.status} it, plan skips it`)
    if (realize.status === 'failed') assert.is(plan.reason, `would fail: its inputs cannot be read: ${realize.error}`)
    else if (realize.reason && !/^(dependency .* will run|may run)/.test(plan.reason) && realize.status !== 'blocked') assert.is(plan.reason, realize.reason, id)
  }
  assert.is(rows.map(r => `${r.id}:${r.plan.status}/${r.realize.status}`).join(' '), expected)
}

E('plan and realize agree over the same states: fresh, changed input, changed dependency, output gone, discover failing', async () => {
  const w = chainWorld()
  const markers = new MarkerStore(join(dir, 'markers'))
  assertAgree(await w.planThenRealize(markers), 'a:run/ran b:run/ran c:run/ran')
  assertAgree(await w.planThenRealize(markers), 'a:skip/skipped b:skip/skipped c:skip/skipped')
  w.state.inputs.b = 2 // an input of b: b runs, and c after it (its dependency's fingerprint changed)
  const changed = await w.planThenRealize(markers)
  assertAgree(changed, 'a:skip/skipped b:run/ran c:run/ran')
  assert.is(changed[1]!.plan.reason, 'v changed (1 → 2)')
  assert.is(changed[2]!.plan.reason, 'dependency b will run')
  assert.is(changed[2]!.realize.reason, 'dependency b changed')
  w.state.inputs.a = 2 // the first task: everything after it
  assertAgree(await w.planThenRealize(markers), 'a:run/ran b:run/ran c:run/ran')
  w.state.seen = 'y' // what c discovers
  assertAgree(await w.planThenRealize(markers), 'a:skip/skipped b:skip/skipped c:run/ran')
  w.state.standing.delete('c') // c's output gone: c alone runs again, with the same fingerprint
  const gone = await w.planThenRealize(markers)
  assertAgree(gone, 'a:skip/skipped b:skip/skipped c:run/ran')
  assert.is(gone[2]!.realize.reason, 'its outputs are missing or changed')
  w.state.standing.delete('b') // b's output gone: c may run, decided once b ran again (it is skipped: b's fingerprint is the same)
  assertAgree(await w.planThenRealize(markers), 'a:skip/skipped b:run/ran c:run/skipped')
  w.state.discoverFails = true // c cannot read its inputs: plan says it would fail, realize fails it
  w.state.seen = 'z'
  assertAgree(await w.planThenRealize(markers), 'a:skip/skipped b:skip/skipped c:run/failed')
})

E('early cutoff: a dependency that ran and made the same output leaves its dependents skipped; plan says they may run', async () => {
  const w = chainWorld({ cutoff: true })
  const markers = new MarkerStore(join(dir, 'markers'))
  assertAgree(await w.planThenRealize(markers), 'a:run/ran b:run/ran c:run/ran')
  w.state.bMakes = 1
  w.state.inputs.b = 2 // b runs (its input changed) and makes what it made before: c stays
  w.state.runs.length = 0
  const same = await w.planThenRealize(markers)
  assertAgree(same, 'a:skip/skipped b:run/ran c:run/skipped')
  assert.equal(w.state.runs, ['b'])
  assert.is(same[1]!.plan.reason, 'v changed (1 → 2)')
  assert.is(same[2]!.plan.reason, 'may run: it is decided after b ran')
  assert.is(same[2]!.realize.reason, 'up to date')
  const marker = await markers.read('b')
  assert.match(marker!.output_hash ?? '', /^out:[0-9a-f]{64}$/, 'the marker records the output hash')
  w.state.bMakes = 3
  w.state.inputs.b = 3 // now b makes something new: c runs, and says why
  const changed = await w.planThenRealize(markers)
  assertAgree(changed, 'a:skip/skipped b:run/ran c:run/ran')
  assert.is(changed[2]!.realize.reason, 'what b made changed')
  assertAgree(await w.planThenRealize(markers), 'a:skip/skipped b:skip/skipped c:skip/skipped')
})

E('without cutoff a dependency that ran makes its dependents run, even when it made the same', async () => {
  const w = chainWorld()
  const markers = new MarkerStore(join(dir, 'markers'))
  await w.planThenRealize(markers)
  w.state.bMakes = 1
  w.state.inputs.b = 2
  assertAgree(await w.planThenRealize(markers), 'a:skip/skipped b:run/ran c:run/ran')
})

E('depIdentity: the fingerprint without cutoff, the hash of the declared output with it', () => {
  assert.is(depIdentity({}, 'fp', { x: 1 }), 'fp')
  const lock = { outputHash: (o: { lockHash: string }) => o.lockHash }
  assert.is(depIdentity(lock, 'fp1', { lockHash: 'h', lockPath: '/a' }), depIdentity(lock, 'fp2', { lockHash: 'h', lockPath: '/b' }))
  assert.is.not(depIdentity(lock, 'fp1', { lockHash: 'h' }), depIdentity(lock, 'fp1', { lockHash: 'other' }))
})

E.run()
