import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { compileGraph, type Graph } from '../lib/graph/compile.ts'
import { fingerprintGraph, explainChange, fingerprintRecord } from '../lib/graph/fingerprint.ts'
import { redactJson } from '../lib/util/redact.ts'
import { BUILTIN_PLUGINS } from '../lib/graph/kinds/index.ts'
import type { GraphEnv, ResolvedGitNode, ResolvedSpec, TaskPlugin } from '../lib/graph/plugin.ts'
import { SpecSchema } from '../lib/spec/schema.ts'

const sha = (c: string) => c.repeat(40).slice(0, 40)

function baseSpec(): ResolvedSpec {
  return SpecSchema.parse({
    schema_version: 2, id: 'demo',
    comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI', ref: 'master', commit: sha('a') },
    custom_nodes: [
      { repo: 'https://github.com/x/NodeA', commit: sha('b') },
      { repo: 'https://github.com/x/NodeB.git', commit: sha('c'), install_script: true },
    ],
    models: [
      { path: 'checkpoints/one.safetensors', url: 'https://example.com/one.safetensors', sha256: sha('d') + sha('d').slice(0, 24) },
      { path: 'vae/two.safetensors', url: 'https://example.com/two.safetensors' },
    ],
  }) as ResolvedSpec
}
const env: GraphEnv = { home: '/h', cacheRoot: '/c', modelsDir: '/m', installer: 'auto', linkMode: 'symlink' }

function graphOf(spec: ResolvedSpec, e = env, plugins: readonly TaskPlugin[] = BUILTIN_PLUGINS): Graph {
  const g = compileGraph(spec, e, plugins)
  if (!g.ok) throw new Error(g.error.join('\n'))
  return g.value
}

/** The ids whose fingerprint differs between two compiled specs (tasks added or removed count too). */
function changed(a: Graph, b: Graph): string[] {
  const fa = fingerprintGraph(a), fb = fingerprintGraph(b)
  return [...new Set([...fa.keys(), ...fb.keys()])].filter(id => fa.get(id) !== fb.get(id)).sort()
}

const G = suite('graph')

G('compiles the contract task ids with their edges, dependencies first', () => {
  const g = graphOf(baseSpec())
  assert.equal([...g.tasks.keys()].sort(), [
    'clone-core', 'clone-node:NodeA', 'clone-node:NodeB', 'collect-deps', 'fetch-model:checkpoints/one.safetensors',
    'fetch-model:vae/two.safetensors', 'install-script:NodeB', 'link', 'uv-compile', 'uv-install', 'venv',
  ])
  const pos = (id: string) => g.order.indexOf(id)
  for (const t of g.tasks.values()) for (const d of t.deps) assert.ok(pos(d) < pos(t.id), `${d} before ${t.id}`)
  assert.equal(g.tasks.get('link')!.deps, ['clone-core', 'fetch-model:checkpoints/one.safetensors', 'fetch-model:vae/two.safetensors'])
  assert.equal(g.tasks.get('install-script:NodeB')!.deps, ['uv-install', 'clone-node:NodeB'])
})

const ALL_PY = ['collect-deps', 'install-script:NodeB', 'uv-compile', 'uv-install']
/** A git node of the spec, for the cases that change its commit or URL. */
const git = (s: ResolvedSpec, i: number) => s.custom_nodes[i] as ResolvedGitNode
const AFTER_COMPILE = ['install-script:NodeB', 'uv-compile', 'uv-install']
const CASES: [string, (s: ResolvedSpec, e: GraphEnv) => void, string[]][] = [
  // Requirements are hashed by content when collect-deps runs, so a commit alone changes only its checkout.
  ['a node commit: that node only', s => { git(s, 0).commit = sha('e') }, ['clone-node:NodeA']],
  ['the commit of a node with an install script: the node and its script', s => { git(s, 1).commit = sha('e') }, ['clone-node:NodeB', 'install-script:NodeB']],
  ['a model url: that model and link', s => { s.models[1]!.url = 'https://example.com/other.safetensors' }, ['fetch-model:vae/two.safetensors', 'link']],
  ['a model sha256: that model and link', s => { s.models[0]!.sha256 = sha('f') + sha('f').slice(0, 24) }, ['fetch-model:checkpoints/one.safetensors', 'link']],
  ['a model size only: nothing', s => { s.models[0]!.size = 12 }, []],
  ['the core commit: the core checkout only', s => { s.comfyui.commit = sha('e') }, ['clone-core']],
  ['the repo URL of a node', s => { git(s, 0).repo = 'https://github.com/y/NodeA' }, ['clone-node:NodeA']],
  ['the same repo URL spelled with .git and a trailing slash: nothing', s => { git(s, 0).repo = 'https://github.com/x/NodeA.git/' }, []],
  // A node's requirements reach the Python tasks as a discovered input (its requirements.txt hash), so a node
  // without one changes nothing there.
  ['disabling a node: its checkout (the Python tasks only if it has requirements)', s => { s.custom_nodes[0]!.enabled = false }, ['clone-node:NodeA']],
  ['python.version: the environment and all after it', s => { s.python.version = '3.12' }, ['venv', ...ALL_PY].sort()],
  ['python.requirements: collect and after', s => { s.python.requirements = ['numpy'] }, ALL_PY],
  ['python.torch_backend: compile and after', s => { s.python.torch_backend = 'cu128' }, AFTER_COMPILE],
  ['python.extra_index_urls: compile and after', s => { s.python.extra_index_urls = ['https://download.pytorch.org/whl/cu128'] }, AFTER_COMPILE],
  ['the link mode: link only', (_s, e) => { e.linkMode = 'hardlink' }, ['link']],
  ['the installer: the environment and all after it', (_s, e) => { e.installer = 'pip' }, ['venv', ...ALL_PY].sort()],
  ['launch settings: nothing', s => { s.launch.port = 9000; s.launch.args = ['--cpu'] }, []],
  ['the description: nothing', s => { s.description = 'changed' }, []],
  ['a new model: its fetch and link', s => { s.models.push({ path: 'loras/x.safetensors', url: 'https://example.com/x' }) }, ['fetch-model:loras/x.safetensors', 'link']],
  ['a removed node: its task disappears (the Python tasks only if it had requirements)', s => { s.custom_nodes.splice(0, 1) }, ['clone-node:NodeA']],
]
for (const [name, mutate, expected] of CASES) {
  G(`changing ${name}`, () => {
    const before = graphOf(baseSpec())
    const spec = baseSpec(), e = { ...env }
    mutate(spec, e)
    assert.equal(changed(before, graphOf(spec, e)), [...expected].sort())
  })
}

G('the same spec always gives the same fingerprints', () => {
  assert.equal([...fingerprintGraph(graphOf(baseSpec())).entries()], [...fingerprintGraph(graphOf(baseSpec())).entries()])
})

G('discovered inputs change a task and its dependents only', () => {
  const g = graphOf(baseSpec())
  const a = fingerprintGraph(g)
  const b = fingerprintGraph(g, new Map([['venv', { interpreter: '/usr/bin/python3.11' }]]))
  assert.equal([...a.keys()].filter(id => a.get(id) !== b.get(id)).sort(), ['venv', ...ALL_PY].sort())
  // A node that adds a requirement: collect, compile and install re-run, no checkout.
  const c = fingerprintGraph(g, new Map([['collect-deps', { requirements_files: { NodeA: 'new hash' } }]]))
  assert.equal([...a.keys()].filter(id => a.get(id) !== c.get(id)).sort(), ALL_PY)
})

G('explainChange names the input that changed', () => {
  const g1 = graphOf(baseSpec())
  const spec = baseSpec(); git(spec, 0).commit = sha('e')
  const g2 = graphOf(spec)
  const fps = fingerprintGraph(g1)
  const t1 = g1.tasks.get('clone-node:NodeA')!, t2 = g2.tasks.get('clone-node:NodeA')!
  const why = explainChange(fingerprintRecord(t1, fps), fingerprintRecord(t2, fps))
  assert.is(why, `commit changed (${sha('b').slice(0, 10)} → ${sha('e').slice(0, 10)})`)
  assert.is(explainChange(undefined, fingerprintRecord(t2, fps)), 'not run before')
  const spec3 = baseSpec(); spec3.python.version = '3.12'
  const fps3 = fingerprintGraph(graphOf(spec3))
  const c1 = g1.tasks.get('collect-deps')!
  assert.is(explainChange(fingerprintRecord(c1, fps), fingerprintRecord(c1, fps3)), 'dependency venv changed')
})

G('explainChange compares with the redacted record a marker holds, and never shows a credential', () => {
  const withIndex = (url: string) => { const s = baseSpec(); s.python.index_url = url; return graphOf(s).tasks.get('uv-compile')! }
  const fps = fingerprintGraph(graphOf(baseSpec()))
  const stored = redactJson(fingerprintRecord(withIndex('https://u:OLDPASS@idx.example/simple'), fps))
  const newPassword = explainChange(stored, fingerprintRecord(withIndex('https://u:NEWPASS@idx.example/simple'), fps))
  assert.is(newPassword, 'a credential in its inputs changed')
  const newHost = explainChange(stored, fingerprintRecord(withIndex('https://u:NEWPASS@other.example/simple'), fps))
  assert.is(newHost, 'index_url changed (https://****@idx.example/simple → https://****@other.example/simple)')
})

const postStep: TaskPlugin = {
  kind: 'post-realize', resource: 'none',
  tasks: (_spec, _env, compiled) => [{ id: 'post-realize', kind: 'post-realize', deps: compiled.filter(t => t.kind === 'link').map(t => t.id), inputs: { script: 'echo done' } }],
  outputsStand: async () => true,
  run: async () => ({ outputs: null }),
}

G('a plugin contributes a task that depends on built-in ones', () => {
  const g = graphOf(baseSpec(), env, [...BUILTIN_PLUGINS, postStep])
  assert.equal(g.tasks.get('post-realize')!.deps, ['link'])
  assert.is(g.order.at(-1), 'post-realize')
  const spec = baseSpec(); spec.models[1]!.url = 'https://example.com/moved'
  assert.ok(changed(g, graphOf(spec, env, [...BUILTIN_PLUGINS, postStep])).includes('post-realize'))
})

G('a missing dependency, a duplicate id and a cycle are reported', () => {
  const bad = (deps: string[], id = 'extra'): TaskPlugin => ({ ...postStep, kind: 'extra', tasks: () => [{ id, kind: 'extra', deps, inputs: {} }] })
  const missing = compileGraph(baseSpec(), env, [...BUILTIN_PLUGINS, bad(['nope'])])
  assert.equal(missing.ok ? [] : missing.error, ['task extra depends on nope, which is not in the graph'])
  const dup = compileGraph(baseSpec(), env, [...BUILTIN_PLUGINS, bad([], 'link')])
  assert.equal(dup.ok ? [] : dup.error, ['two tasks have the id link'])
  const cyc: TaskPlugin = { ...postStep, kind: 'cyc', tasks: () => [
    { id: 'x', kind: 'cyc', deps: ['y'], inputs: {} }, { id: 'y', kind: 'cyc', deps: ['x'], inputs: {} }] }
  const cycle = compileGraph(baseSpec(), env, [...BUILTIN_PLUGINS, cyc])
  assert.equal(cycle.ok ? [] : cycle.error, ['dependency cycle: x → y → x'])
})

G.run()
