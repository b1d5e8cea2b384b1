import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildDemoWorld, type DemoWorld } from '../stand-ins/demo-world.ts'
import { follow, killLeftovers } from './helpers/follow.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'
import { comfyPids } from './helpers/comfy-processes.ts'

/**
 * Watch mode through the real CLI: `realize --watch --json` and `run-ui --watch`, driven by writing the
 * spec file while they run. The demo world's ComfyUI stand-in and custom nodes without requirements (so a new
 * node is a clone and nothing else) are built once, with git mirrors warmed from them; each test has a world
 * (versions, homes, model store) of its own.
 */

// A watch test runs several realize cycles and ComfyUI restarts: a longer guard than within's default.
const LIMIT_MS = 90_000

const ID = 'w'

/** Shared and only read: the demo world, the node repositories, and the git mirrors of both. */
let fixtures = ''
let world: DemoWorld
const nodes: Record<string, TestRepo> = {}
/** The running test's own. */
let w: World

/** A custom node the stand-in loads, with one node class named `<name>Thing`. */
const nodeSource = (name: string) => `class ${name}Thing:
    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {}}

    RETURN_TYPES = ('STRING',)
    FUNCTION = 'run'
    CATEGORY = 'test'

    def run(self):
        return ('${name}',)


NODE_CLASS_MAPPINGS = {'${name}Thing': ${name}Thing}
`

const node = (name: string) => ({ name, repo: nodes[name]!.url, ref: 'main', commit: nodes[name]!.commits[0] })
const model = (i: number, sha256?: string) => ({ path: world.models[i]!.path, url: world.models[i]!.url, sha256: sha256 ?? world.models[i]!.sha256 })

function spec(nodeNames: string[], models: ReturnType<typeof model>[] = []) {
  return {
    schema_version: 2, id: ID,
    comfyui: { repo: world.core.url, ref: 'master', commit: world.core.commit },
    custom_nodes: nodeNames.map(node),
    ...(models.length ? { models } : {}),
  }
}

/** A line of a watch's --json output: a cycle's run, or (no `cycle`, `errors` instead) an invalid spec. */
interface CycleLine { version: string; ok: boolean; cycle?: number; tasks: { id: string; status: string }[]; errors?: string[] }
const jsonLines = (text: string): CycleLine[] => text.split('\n').filter(l => l.trim()).map(l => JSON.parse(l))
const cycleLines = (text: string) => jsonLines(text).filter(l => l.cycle !== undefined)
const ran = (line: CycleLine) => line.tasks.filter(t => t.status === 'ran').map(t => t.id).sort()
const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0

const READY = /ComfyUI ready at (http:\/\/127\.0\.0\.1:(\d+))/g

/** The ready lines printed so far: [url, port] of each. */
const readyLines = (text: string) => [...text.matchAll(READY)].map(m => ({ url: m[1]!, port: m[2]! }))

async function hasNodeClass(url: string, name: string): Promise<boolean> {
  const info = await (await fetch(`${url}/object_info/${name}`)).json() as Record<string, unknown>
  return name in info
}

const W = suite('cli: watch mode')

const mirrors = () => join(fixtures, 'cache')

W.before(guarded(async () => {
  fixtures = await mkdtemp(join(tmpdir(), 'comfy-vc-watch-fixtures-'))
  world = await buildDemoWorld(join(fixtures, 'world'))
  for (const name of ['NodeX', 'NodeY', 'NodeZ', 'NodeW']) {
    nodes[name] = await makeRepo(join(fixtures, 'repos'), name, [{ '__init__.py': nodeSource(name) }], { branch: 'main' })
  }
  // validate fills the git mirrors: from then on every realize can run offline (pip gets --no-index), and
  // nothing is fetched into them. (Unpinned refs: validate fetches to resolve them; a pinned commit it takes as it is.)
  const seed = await makeWorld('comfy-vc-watch-', { sharedCache: mirrors() })
  await seed.writeSpec('mirrors', {
    schema_version: 2, id: 'mirrors', comfyui: { repo: world.core.url, ref: 'master' },
    custom_nodes: Object.values(nodes).map(n => ({ repo: n.url, ref: 'main' })),
  })
  const validated = await seed.cli(['validate', 'mirrors'])
  if (validated.code !== 0) throw new Error(`validate failed:\n${validated.stderr}`)
  await seed.cleanup()
}))
W.before.each(guarded(async () => { w = await makeWorld('comfy-vc-watch-', { sharedCache: mirrors() }) }))
W.after.each(guarded(async () => { killLeftovers(); await w.cleanup() }))
W.after(guarded(async () => { await rm(fixtures, { recursive: true, force: true }) }))

W('realize --watch --json: one line per cycle; a new node runs its clone only; an invalid edit is reported and the watch goes on', within(async () => {
  await w.writeSpec(ID, spec(['NodeX']))
  const run = follow(w.spawn(['realize', ID, '--watch', '--json', '--offline'], { detached: true }))
  const cycles = (n: number) => run.until(`cycle ${n}`, () => { const l = cycleLines(run.stdout()); return l.length >= n && l })

  const [first] = await cycles(1)
  assert.equal({ version: first!.version, ok: first!.ok, cycle: first!.cycle }, { version: ID, ok: true, cycle: 1 }, JSON.stringify(first))
  assert.ok(ran(first!).includes('clone-node:NodeX') && ran(first!).includes('clone-core'), JSON.stringify(first))
  await run.until('the watch message', () => /watching .*w\.json \(Ctrl-C to stop\)/.test(run.stderr()))

  await w.writeSpec(ID, spec(['NodeX', 'NodeY']))
  const second = (await cycles(2))[1]!
  assert.is(second.cycle, 2)
  assert.ok(second.ok, JSON.stringify(second))
  assert.equal(ran(second), ['clone-node:NodeY'])

  // An unknown key: the error names the file and the JSON path; no cycle runs.
  const invalid = spec(['NodeX', 'NodeY']) as Record<string, any>
  invalid.custom_nodes[1].colour = 'red'
  await w.writeSpec(ID, invalid)
  await run.until('the spec error', () => /still watching/.test(run.stderr()))
  assert.match(run.stderr(), /versions\/w\.json: custom_nodes\[1\].*colour/)
  // On stdout too, as a line of the run's shape that failed with the spec's errors.
  const rejected = await run.until('the spec error\'s line', () => jsonLines(run.stdout()).find(l => l.errors))
  assert.equal({ version: rejected.version, ok: rejected.ok, tasks: rejected.tasks }, { version: ID, ok: false, tasks: [] })
  assert.match(rejected.errors!.join('\n'), /versions\/w\.json: custom_nodes\[1\].*colour/)
  // Broken JSON: reported with its line.
  await w.writeSpec(ID, '{\n  "schema_version": 2,\n  "id": "w",\n')
  await run.until('the second spec error', () => count(run.stderr(), /still watching/) >= 2)
  assert.match(run.stderr(), /versions\/w\.json: .*line \d+/)
  await run.until('the second spec error\'s line', () => jsonLines(run.stdout()).filter(l => l.errors).length >= 2)

  // A valid edit again: a new cycle that fetches and links the model, nothing else.
  await w.writeSpec(ID, spec(['NodeX', 'NodeY'], [model(0)]))
  const lines = await cycles(3)
  assert.is(lines.length, 3, 'no cycle ran for the invalid edits')
  assert.is(lines[2]!.cycle, 3)
  assert.ok(lines[2]!.ok, JSON.stringify(lines[2]))
  assert.equal(ran(lines[2]!), ['fetch-model:checkpoints/demo-v1.safetensors', 'link'])

  run.child.kill('SIGINT')
  const exit = await run.exit
  assert.is(exit.code, 130)
  assert.is(cycleLines(run.stdout()).length, 3)
  assert.is(jsonLines(run.stdout()).length, 5, 'three cycles and the two invalid edits')
  assert.not.match(run.stderr(), /internal error|\n\s+at .+:\d+:\d+/)
}, LIMIT_MS))

W('run-ui --watch: a new node restarts ComfyUI, a model alone does not; a node cloned by a failed cycle is loaded by the next good one', within(async () => {
  // A home realized before the watch starts, so its first cycle has only ComfyUI to start.
  await w.writeSpec(ID, spec(['NodeX', 'NodeY'], [model(0)]))
  const realized = await w.cli(['realize', ID, '--offline'])
  assert.is(realized.code, 0, realized.stderr)
  const run = follow(w.spawn(['run-ui', ID, '--watch', '--offline', '--port', '0'], { detached: true }))
  const ready = (n: number) => run.until(`ready line ${n}`, () => { const r = readyLines(run.stdout()); return r.length >= n && r })
  const cycleDone = (n: number) => run.until(`cycle ${n}`, () => new RegExp(`^cycle ${n}: .*$`, 'm').exec(run.stderr())?.[0])

  const [one] = await ready(1)
  assert.match(await cycleDone(1), /^cycle 1: ok; ran launch; \d+ up to date$/, 'the cycle counts ComfyUI\'s start as its launch task')
  const pid1 = comfyPids(one!.port)
  assert.is(pid1.length, 1)
  assert.ok(await hasNodeClass(one!.url, 'NodeYThing'))
  assert.not.ok(await hasNodeClass(one!.url, 'NodeZThing'))

  // A node: ComfyUI is restarted and loads it.
  await w.writeSpec(ID, spec(['NodeX', 'NodeY', 'NodeZ'], [model(0)]))
  const two = (await ready(2))[1]!
  assert.match(await cycleDone(2), /^cycle 2: ok; ran clone-node:NodeZ, launch;/)
  assert.match(run.stderr(), /restarting ComfyUI: clone-node:NodeZ/)
  assert.equal(comfyPids(one!.port), [], 'the first ComfyUI is gone')
  const pid2 = comfyPids(two.port)
  assert.is(pid2.length, 1)
  assert.is.not(pid2[0], pid1[0])
  assert.ok(await hasNodeClass(two.url, 'NodeZThing'))

  // A model alone: a cycle, and the same ComfyUI keeps running.
  await w.writeSpec(ID, spec(['NodeX', 'NodeY', 'NodeZ'], [model(0), model(1)]))
  assert.match(await cycleDone(3), /^cycle 3: ok; ran fetch-model:vae\/demo-vae\.safetensors, link;/, 'launch skipped: ComfyUI keeps running')

  // A node and a model whose hash is wrong: the node is cloned but the cycle fails, so no restart yet...
  await w.writeSpec(ID, spec(['NodeX', 'NodeY', 'NodeZ', 'NodeW'], [model(0), model(1), { ...model(0, 'f'.repeat(64)), path: 'checkpoints/wrong.safetensors' }]))
  const failed = await cycleDone(4)
  assert.match(failed, /^cycle 4: failed; ran clone-node:NodeW;.*failed: fetch-model:checkpoints\/wrong\.safetensors/)
  // ...and the next good cycle restarts ComfyUI although it ran nothing ComfyUI loads itself.
  await w.writeSpec(ID, spec(['NodeX', 'NodeY', 'NodeZ', 'NodeW'], [model(0), model(1)]))
  const three = (await ready(3))[2]!
  assert.match(await cycleDone(5), /^cycle 5: ok; ran launch;/)
  assert.match(run.stderr(), /restarting ComfyUI: clone-node:NodeW/)
  assert.ok(await hasNodeClass(three.url, 'NodeWThing'))
  assert.equal(comfyPids(two.port), [])

  run.child.kill('SIGINT')
  const exit = await run.exit
  assert.is(exit.code, 130, `interrupted, after ComfyUI stopped\n${run.stderr()}`)
  assert.match(run.stderr(), /Stopped server/)
  assert.is(readyLines(run.stdout()).length, 3, 'ComfyUI was started three times: first, NodeZ, NodeW')
  assert.equal(comfyPids(three.port), [])
  assert.not.match(run.stderr(), /still watching: the next change starts it again/)
}, LIMIT_MS))

W('a spec that is invalid from the start: exit 2 with its errors, nothing watched', within(async () => {
  await w.writeSpec('broken', { ...spec(['NodeX']), id: 'broken', custom_nodes: [{ repo: 'not a url' }] })
  for (const args of [['realize', 'broken', '--watch'], ['run-ui', 'broken', '--watch', '--port', '0']]) {
    const r = await w.cli(args)
    assert.is(r.code, 2, `${args.join(' ')}\n${r.stderr}`)
    assert.match(r.stderr, /versions\/broken\.json: custom_nodes\[0\]\.repo: /)
    assert.not.match(r.stderr, /watching|ComfyUI ready/)
    const json = await w.cli([...args, '--json'])
    assert.is(json.code, 2)
    assert.equal([json.json().ok, json.json().version, json.json().tasks], [false, 'broken', []])
    assert.match(json.json().errors[0], /custom_nodes\[0\]\.repo: /)
  }
}, LIMIT_MS))

W('a home the tool may not build in: exit 2 naming it, not a watch that waits for nothing', within(async () => {
  const home = join(w.dir, 'users-folder')
  await mkdir(home, { recursive: true })
  await writeFile(join(home, 'notes.txt'), 'mine\n')
  await w.writeSpec('refused', { ...spec(['NodeX']), id: 'refused' })
  for (const args of [['realize', 'refused', '--watch', '--json'], ['run-ui', 'refused', '--watch', '--port', '0', '--json']]) {
    const r = await w.cli([...args, '--home', home])
    assert.is(r.code, 2, `${args.join(' ')}\n${r.stderr}`)
    assert.match(r.stderr, /is not empty and was not created by comfy-vc/)
    assert.equal([r.json().ok, r.json().home, r.json().tasks], [false, home, []])
    assert.ok(existsSync(join(home, 'notes.txt')))
  }
}, LIMIT_MS))

W.run()
