import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, addCommit, git, type TestRepo } from './helpers/git-repos.ts'
import { guarded } from './helpers/hooks.ts'
import { startRegistry } from './helpers/registry-standin.ts'

interface Ctx { w: World; core: TestRepo; a: TestRepo; b: TestRepo }
const S = suite<Ctx>('cli: add-node, add-model, remove, update, show')

S.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-edit-')
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print(1)\n' }], { branch: 'master' })
  ctx.a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }], { branch: 'main' })
  ctx.b = await makeRepo(repos, 'NodeB', [{ '__init__.py': 'b = 1\n' }, { '__init__.py': 'b = 2\n' }], { branch: 'main' })
}))
S.after(guarded(async ctx => { await ctx.w.cleanup() }))

/** A hand-written spec: four-space indentation, keys in an unusual order, a key order editors must keep. */
const handWritten = (core: TestRepo, a: TestRepo) => `{
    "schema_version": 2,
    "id": "hand",
    "comfyui": { "ref": "master", "repo": "${core.url}" },
    "custom_nodes": [
        {
            "repo": "${a.url}",
            "ref": "main"
        }
    ],
    "models": [],
    "launch": { "port": 8190 }
}
`

S('add-node appends a git node and a registry node; the rest of the file stays byte for byte', async ({ w, core, a, b }) => {
  const before = handWritten(core, a)
  await w.writeSpec('hand', before)
  const r = await w.cli(['add-node', 'hand', `${b.url}@main`, '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /added NodeB \(file:.*NodeB @ main\) to versions\/hand\.json as custom_nodes\[1\]/)
  assert.match(r.stderr, /next: npx tsx tasks validate hand/)
  assert.is(r.json().at, 'custom_nodes[1]')
  const cnr = await w.cli(['add-node', 'hand', 'cnr:comfyui-kjnodes@1.0.5', '--disabled'])
  assert.is(cnr.code, 0, cnr.stderr)
  const text = await readFile(join(w.versions, 'hand.json'), 'utf8')
  const head = before.slice(0, before.indexOf('\n    ],'))
  assert.ok(text.startsWith(head), text)
  assert.ok(text.endsWith(before.slice(before.indexOf('\n    ],'))), text)
  assert.match(text, /\n {8}\{\n {12}"repo": "file:[^"]*NodeB",\n {12}"ref": "main"\n {8}\}/)
  const spec = JSON.parse(text)
  assert.equal(spec.custom_nodes.slice(1), [{ repo: b.url, ref: 'main' }, { registry: 'comfyui-kjnodes', version: '1.0.5', enabled: false }])
  assert.equal(Object.keys(spec.comfyui), ['ref', 'repo'])
})

S('add-node refuses a node already there, a taken folder name and a bad URL, exit 2, nothing written', async ({ w, core, a }) => {
  await w.writeSpec('dup', handWritten(core, a).replace('"hand"', '"dup"'))
  const file = join(w.versions, 'dup.json')
  const before = await readFile(file, 'utf8')
  const same = await w.cli(['add-node', 'dup', `${a.url}.git@v2`])
  assert.is(same.code, 2)
  assert.match(same.stderr, /already has it as custom_nodes\[0\] \("NodeA"\).*remove dup NodeA/)
  const other = join(w.dir, 'elsewhere', 'NodeA')
  mkdirSync(other, { recursive: true })
  const taken = await w.cli(['add-node', 'dup', `file://${other}`])
  assert.is(taken.code, 2)
  assert.match(taken.stderr, /the folder name "NodeA" is taken by custom_nodes\[0\].*--name NAME/)
  const bad = await w.cli(['add-node', 'dup', 'ftp://example.test/x'])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, /add-node ftp:\/\/example\.test\/x: repo must be an https:\/\/.*URL/)
  assert.match(bad.stderr, /nothing was written to versions\/dup\.json/)
  assert.not.match(bad.stderr, /\n\s+at /) // no stack
  const noId = await w.cli(['add-node', 'dup', 'cnr:'])
  assert.is(noId.code, 2)
  assert.match(noId.stderr, /no registry id after "cnr:"/)
  const missing = await w.cli(['add-node', 'nope', a.url])
  assert.is(missing.code, 2)
  assert.match(missing.stderr, /versions\/nope\.json: \(root\): no such spec/)
  assert.is(await readFile(file, 'utf8'), before)
})

S('add-model appends a model (a page link read as the file), refuses a taken or unsafe path', async ({ w, core, a }) => {
  await w.writeSpec('m', handWritten(core, a).replace('"hand"', '"m"'))
  const file = join(w.versions, 'm.json')
  const r = await w.cli(['add-model', 'm', 'https://huggingface.co/o/r/blob/main/x.safetensors', 'models/checkpoints/x.safetensors'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /read the page link as the file https:\/\/huggingface\.co\/o\/r\/resolve\/main\/x\.safetensors/)
  assert.match(r.stderr, /took it as checkpoints\/x\.safetensors/)
  const spec = JSON.parse(await readFile(file, 'utf8'))
  assert.equal(spec.models, [{ path: 'checkpoints/x.safetensors', url: 'https://huggingface.co/o/r/resolve/main/x.safetensors' }])
  const before = await readFile(file, 'utf8')
  const again = await w.cli(['add-model', 'm', 'https://example.test/y.bin', 'checkpoints/x.safetensors'])
  assert.is(again.code, 2)
  assert.match(again.stderr, /already has a model at that path \(models\[0\]/)
  const unsafe = await w.cli(['add-model', 'm', 'https://example.test/y.bin', '../y.bin'])
  assert.is(unsafe.code, 2)
  assert.match(unsafe.stderr, /add-model https:\/\/example\.test\/y\.bin \.\.\/y\.bin: path must not contain "\.\."/)
  const page = await w.cli(['add-model', 'm', 'https://huggingface.co/o/r', 'vae/v.bin'])
  assert.is(page.code, 2)
  assert.match(page.stderr, /a Hugging Face repository page, not a file/)
  const noPath = await w.cli(['add-model', 'm', 'https://example.test/y.bin'])
  assert.is(noPath.code, 2)
  assert.match(noPath.stderr, /missing PATH/)
  assert.is(await readFile(file, 'utf8'), before)
})

S('remove takes a node by name or a model by path; an unknown one gets the closest name', async ({ w, core, a, b }) => {
  const spec = {
    schema_version: 2, id: 'rm', comfyui: { repo: core.url },
    custom_nodes: [{ repo: a.url }, { repo: b.url, ref: 'main' }],
    models: [{ path: 'loras/l.safetensors', url: 'https://example.test/l.safetensors' }],
  }
  await w.writeSpec('rm', spec)
  const file = join(w.versions, 'rm.json')
  const typo = await w.cli(['remove', 'rm', 'NodeC'])
  assert.is(typo.code, 2)
  assert.match(typo.stderr, /has no node or model of that name; did you mean "NodeA"\?/)
  const node = await w.cli(['remove', 'rm', 'NodeA'])
  assert.is(node.code, 0, node.stderr)
  assert.match(node.stderr, /removed node NodeA \(custom_nodes\[0\]\).*next `realize rm` removes it from the home/)
  const model = await w.cli(['remove', 'rm', 'models/loras/l.safetensors', '--json'])
  assert.is(model.code, 0, model.stderr)
  assert.equal(model.json().removed, { path: 'models[0]', model: 'loras/l.safetensors' })
  const text = await readFile(file, 'utf8')
  assert.is(text, `${JSON.stringify({ ...spec, custom_nodes: [spec.custom_nodes[1]], models: [] }, null, 2)}\n`)
})

S('update moves the named node that follows a branch, leaves a commit ref and the others; unknown names are refused', async ({ w, core, a, b }) => {
  const pinnedA = a.commits[0]!
  await w.writeSpec('up', {
    schema_version: 2, id: 'up', comfyui: { repo: core.url, ref: 'master' },
    custom_nodes: [{ repo: a.url, ref: 'main' }, { repo: b.url, ref: b.commits[0]!.slice(0, 8) }],
    models: [],
  })
  const v = await w.cli(['validate', 'up'])
  assert.is(v.code, 0, v.stderr)
  const file = join(w.versions, 'up.json')
  const pinned = await readFile(file, 'utf8')
  const newA = await addCommit(a, { '__init__.py': 'a = 3\n' })
  const newCore = await addCommit(core, { 'main.py': 'print(2)\n' })

  const unknown = await w.cli(['update', 'up', 'NodeAA'])
  assert.is(unknown.code, 2)
  assert.match(unknown.stderr, /update NodeAA: .* has no node of that name; did you mean "NodeA"\?/)

  const r = await w.cli(['update', 'up', 'NodeA', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, new RegExp(`NodeA: ${pinnedA.slice(0, 10)} -> ${newA.slice(0, 10)}`))
  assert.equal(r.json().moved, [{ name: 'NodeA', from: pinnedA, to: newA }])
  // Only NodeA's commit changed: the core stays although its branch moved too.
  assert.is(await readFile(file, 'utf8'), pinned.replace(pinnedA, newA))

  const all = await w.cli(['update', 'up'])
  assert.is(all.code, 0, all.stderr)
  assert.match(all.stderr, /NodeB: stays at its ref [0-9a-f]{8}, a commit/)
  assert.match(all.stderr, new RegExp(`comfyui: [0-9a-f]{10} -> ${newCore.slice(0, 10)}`))
  assert.match(all.stderr, /already at the newest: NodeA/)
  const spec = JSON.parse(await readFile(file, 'utf8'))
  assert.is(spec.comfyui.commit, newCore)
  assert.is(spec.custom_nodes[1].commit, b.commits[0])
})

S('update moves a registry node whose version validate chose to the latest; one whose version was written stays', async ({ w, core }) => {
  const reg = await startRegistry(join(w.dir, 'archives'))
  try {
    const env = { COMFY_REGISTRY_URL: reg.url }
    reg.publish('follows', '1.0.0', { '__init__.py': 'v = 1\n' })
    reg.publish('written', '2.0.0', { '__init__.py': 'w = 2\n' })
    await w.writeSpec('cnr', { schema_version: 2, id: 'cnr', comfyui: { repo: core.url, commit: core.commits[0] }, custom_nodes: [], models: [] })
    for (const arg of ['cnr:follows', 'cnr:written@2.0.0']) assert.is((await w.cli(['add-node', 'cnr', arg], { env })).code, 0)
    const v = await w.cli(['validate', 'cnr'], { env })
    assert.is(v.code, 0, v.stderr)
    reg.publish('follows', '1.1.0', { '__init__.py': 'v = 2\n' })
    reg.publish('written', '2.1.0', { '__init__.py': 'w = 3\n' })
    const r = await w.cli(['update', 'cnr', 'follows', 'written', '--json'], { env })
    assert.is(r.code, 0, r.stderr)
    assert.equal(r.json().moved, [{ name: 'follows', from: '1.0.0', to: '1.1.0' }])
    assert.match(r.stderr, /written: stays at version 2\.0\.0, which the spec names/)
    const spec = JSON.parse(await readFile(join(w.versions, 'cnr.json'), 'utf8'))
    assert.equal(spec.custom_nodes.map((n: { version: string }) => n.version), ['1.1.0', '2.0.0'])
    assert.match(spec.custom_nodes[0].sha256, /^[0-9a-f]{64}$/)
  } finally { await reg.server.close() }
})

S('show lists what the spec names beside the home, and what only the home has', async ({ w, core, a, b }) => {
  await w.writeSpec('sh', {
    schema_version: 2, id: 'sh', comfyui: { repo: core.url, commit: core.commits[0] },
    custom_nodes: [{ repo: a.url, commit: a.commits[0] }, { repo: b.url, commit: b.commits[0] }],
    models: [{ path: 'checkpoints/c.safetensors', url: 'https://example.test/c.safetensors', size: 5 }],
  })
  const empty = await w.cli(['show', 'sh'])
  assert.is(empty.code, 0, empty.stderr)
  assert.match(empty.stdout, /not realized/)
  assert.match(empty.stdout, /node NodeA +default branch @ [0-9a-f]{10} +- +missing/)
  // A home laid out by hand: show reads files only, whoever made them.
  const home = w.home('sh')
  git(join(w.dir), ['clone', '--quiet', core.dir, home])
  git(home, ['checkout', '--quiet', '--detach', core.commits[0]!])
  git(home, ['clone', '--quiet', a.dir, 'custom_nodes/NodeA'])
  git(join(home, 'custom_nodes/NodeA'), ['checkout', '--quiet', '--detach', a.commits[0]!])
  git(home, ['clone', '--quiet', b.dir, 'custom_nodes/NodeB'])
  git(join(home, 'custom_nodes/NodeB'), ['checkout', '--quiet', '--detach', b.commits[1]!])
  mkdirSync(join(home, 'custom_nodes', 'MyOwnNode'), { recursive: true })
  mkdirSync(join(home, 'models', 'checkpoints'), { recursive: true })
  writeFileSync(join(home, 'models', 'checkpoints', 'c.safetensors'), '12345')
  writeFileSync(join(home, 'models', 'checkpoints', 'mine.safetensors'), 'x')
  writeFileSync(join(home, 'models', 'checkpoints', 'put_checkpoints_here'), '')
  const r = await w.cli(['show', 'sh', '--json'])
  assert.is(r.code, 0, r.stderr)
  const rows = r.json().entries.map((e: { kind: string; name: string; status: string }) => `${e.kind} ${e.name} ${e.status}`)
  assert.equal(rows, [
    'core comfyui ok', 'node NodeA ok', 'node NodeB differs', 'model checkpoints/c.safetensors ok', 'python .venv missing',
    'node MyOwnNode extra', 'model checkpoints/mine.safetensors extra',
  ])
  const text = await w.cli(['show', 'sh'])
  assert.match(text.stdout, new RegExp(`node NodeB +default branch @ ${b.commits[0]!.slice(0, 10)} +at ${b.commits[1]!.slice(0, 10)} +differs`))
  assert.match(text.stdout, /model checkpoints\/mine\.safetensors +\(not in the spec\) +a file in models\/ +extra/)
})

S('each edit command has --help naming its arguments', async ({ w }) => {
  for (const [cmd, usage] of [['add-node', 'URL[@REF] | cnr:ID[@VER]'], ['add-model', 'URL PATH'], ['remove', 'NODE-NAME | MODEL-PATH'], ['update', '[NODE...]'], ['show', 'show <id>']] as const) {
    const h = await w.cli([cmd, '--help'])
    assert.is(h.code, 0, h.stderr)
    assert.ok(h.stdout.includes(usage), `${cmd}: ${h.stdout}`)
  }
})

S('a mistyped option or command gets the closest one, exit 2, no stack', async ({ w }) => {
  const flag = await w.cli(['realize', 'x', '--froze'])
  assert.is(flag.code, 2)
  assert.match(flag.stderr, /unknown option --froze; did you mean --frozen\?/)
  const far = await w.cli(['validate', 'x', '--zzzz'])
  assert.match(far.stderr, /unknown option --zzzz; this command takes --update, --check, --offline, /)
  const cmd = await w.cli(['add-nod', 'x'])
  assert.is(cmd.code, 2)
  assert.match(cmd.stderr, /unknown command "add-nod"; did you mean "add-node"\?/)
  for (const r of [flag, far, cmd]) assert.not.match(r.stderr, /\n\s+at /)
})

S.run()
