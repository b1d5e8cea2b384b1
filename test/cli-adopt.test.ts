/**
 * An existing ComfyUI folder, as a RunPod template leaves /workspace/ComfyUI (issue 14, items 6 and 7): described by
 * `create --from-home`, refused by a plain realize with a message saying how to adopt it, taken over by
 * `realize --adopt` with every file of the user's still there, and `delete` removing only what the tool added.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, lstatSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, testGitEnv, type TestRepo } from './helpers/git-repos.ts'
import { startRegistry, type Registry } from './helpers/registry-standin.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; reg: Registry; core: TestRepo; node: TestRepo; pod: string; model: Buffer }
const A = suite<Ctx>('cli: an existing ComfyUI described (create --from-home) and adopted (realize --adopt)')

const KJ = { '__init__.py': 'VERSION = "1.0.0"\n', 'pyproject.toml': '[project]\nname = "ComfyUI-KJNodes"\nversion = "1.0.0"\n' }
type Report = { ok: boolean; tasks: { id: string; status: string }[] }
const clone = (url: string, dir: string) => execFileSync('git', ['clone', '-q', url, dir], { env: testGitEnv() })

A.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-adopt-')
  ctx.reg = await startRegistry(join(ctx.w.dir, 'archives'))
  ctx.reg.publish('comfyui-kjnodes', '1.0.0', KJ)
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '', 'custom_nodes/example_node.py.example': '#\n' }], { branch: 'master' })
  ctx.node = await makeRepo(repos, 'GitNode', [{ '__init__.py': 'g = 1\n' }])
  // The pod's ComfyUI, as a template installs it: a clone, a git node, a registry pack as Manager unpacks it, a model,
  // an output image, a saved workflow and a single-file node.
  const pod = ctx.pod = join(ctx.w.dir, 'workspace', 'ComfyUI')
  clone(ctx.core.url, pod)
  clone(ctx.node.url, join(pod, 'custom_nodes', 'GitNode'))
  const kj = join(pod, 'custom_nodes', 'comfyui-kjnodes')
  await mkdir(kj, { recursive: true })
  for (const [name, text] of Object.entries(KJ)) await writeFile(join(kj, name), text)
  await writeFile(join(kj, '.tracking'), Object.keys(KJ).join('\n'))
  ctx.model = randomBytes(4096)
  await mkdir(join(pod, 'models', 'checkpoints'), { recursive: true })
  await writeFile(join(pod, 'models', 'checkpoints', 'mine.safetensors'), ctx.model)
  await writeFile(join(pod, 'models', 'checkpoints', 'put_checkpoints_here'), '')
  await mkdir(join(pod, 'output'), { recursive: true })
  await writeFile(join(pod, 'output', 'ComfyUI_00001_.png'), 'png')
  await mkdir(join(pod, 'user', 'default', 'workflows'), { recursive: true })
  await writeFile(join(pod, 'user', 'default', 'workflows', 'mine.json'), '{}')
  await writeFile(join(pod, 'custom_nodes', 'my_helpers.py'), '# mine\n')
}))
A.after(guarded(async ctx => { await ctx.reg.close(); await ctx.w.cleanup() }))

A('create --from-home describes the folder: core and git node at their commits, the registry pack at its version, the model with size and sha256', async ctx => {
  const { w } = ctx
  const r = await w.cli(['create', 'pod', '--from-home', ctx.pod, '--hashes'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /custom_nodes\/my_helpers\.py: a single-file node .* left out/)
  assert.match(r.stderr, /then: npx tsx tasks realize pod --adopt --home /)
  const spec = JSON.parse(readFileSync(join(w.versions, 'pod.json'), 'utf8'))
  assert.equal(spec.comfyui, { repo: ctx.core.url, commit: ctx.core.commits[0] })
  assert.equal(spec.custom_nodes, [
    { repo: ctx.node.url, commit: ctx.node.commits[0] },
    { registry: 'comfyui-kjnodes', version: '1.0.0' },
  ])
  assert.equal(spec.models, [{
    path: 'checkpoints/mine.safetensors', url: `file://${join(ctx.pod, 'models', 'checkpoints', 'mine.safetensors')}`,
    sha256: createHash('sha256').update(ctx.model).digest('hex'), size: ctx.model.length,
  }])
})

A('realize refuses the folder without --adopt and says how; with --adopt it brings the spec in and keeps every user file; a second realize does nothing; delete keeps them too', async ctx => {
  const { w, pod } = ctx
  const env = { COMFY_REGISTRY_URL: ctx.reg.url, COMFY_HOME: pod }
  assert.is((await w.cli(['validate', 'pod'], { env })).code, 0)
  const refused = await w.cli(['realize', 'pod'], { env })
  assert.is(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /is not empty and was not created by comfy-vc; it is left untouched\. To take over the ComfyUI in it .* run realize with --adopt/)
  assert.ok(!existsSync(join(pod, '.comfy-vc')), 'nothing written')
  const r = await w.cli(['realize', 'pod', '--adopt', '--json'], { env })
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /adopted .*ComfyUI: .*entries that were there stay/)
  for (const file of ['output/ComfyUI_00001_.png', 'user/default/workflows/mine.json', 'custom_nodes/my_helpers.py', 'custom_nodes/comfyui-kjnodes/__init__.py', 'custom_nodes/GitNode/__init__.py']) {
    assert.ok(existsSync(join(pod, file)), `${file} is still there`)
  }
  assert.equal(readFileSync(join(pod, 'models', 'checkpoints', 'mine.safetensors')), ctx.model, 'the model reads the same (now from the store)')
  assert.ok(lstatSync(join(pod, 'models', 'checkpoints', 'mine.safetensors')).isSymbolicLink(), 'linked into the store')
  const again = await w.cli(['realize', 'pod', '--json'], { env })
  assert.is(again.code, 0, again.stderr)
  assert.equal(again.json<Report>().tasks.filter(t => t.status !== 'skipped').map(t => t.id), [])
  const del = await w.cli(['delete', 'pod'], { env })
  assert.is(del.code, 0, del.stderr)
  for (const file of ['output/ComfyUI_00001_.png', 'user/default/workflows/mine.json', 'custom_nodes/my_helpers.py', 'custom_nodes/GitNode/__init__.py', 'main.py']) {
    assert.ok(existsSync(join(pod, file)), `${file} survives delete`)
  }
  assert.ok(!existsSync(join(pod, '.comfy-vc')) && !existsSync(join(pod, '.venv')), 'what the tool added is gone')
})

A('--adopt refuses a folder that is not a checkout of the spec\'s core', async ctx => {
  const { w } = ctx
  const other = join(w.dir, 'other')
  clone(ctx.node.url, other)
  const r = await w.cli(['realize', 'pod', '--adopt'], { env: { COMFY_REGISTRY_URL: ctx.reg.url, COMFY_HOME: other } })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /is a checkout of .*GitNode, not of the spec's core .*ComfyUI/)
  assert.ok(!existsSync(join(other, '.comfy-vc')))
})

A.run()
