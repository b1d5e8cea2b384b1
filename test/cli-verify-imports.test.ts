/**
 * verify --imports (issue 15): ComfyUI (the stand-in, which loads custom nodes and logs failures as ComfyUI does) is
 * started once with --quick-test-for-ci; each node that fails to import is a drift row with the first lines of its
 * error, and the exit code says so although ComfyUI itself exits 0.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { buildDemoWorld } from '../stand-ins/demo-world.ts'
import { parseImportLog } from '../lib/comfy/import-log.ts'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo } from './helpers/git-repos.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World }
const V = suite<Ctx>('cli: verify --imports')

type Verify = { ok: boolean; checks: { id: string; status: string; detail?: string }[] }
const check = (doc: Verify, id: string) => doc.checks.find(c => c.id === id)

V.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-imports-')
  const world = await buildDemoWorld(join(ctx.w.dir, 'world'))
  const repos = join(ctx.w.dir, 'repos')
  const broken = await makeRepo(repos, 'BrokenNode', [{ '__init__.py': 'import demo_missing_module\nNODE_CLASS_MAPPINGS = {}\n' }])
  const bare = await makeRepo(repos, 'NoMappings', [{ '__init__.py': 'VALUE = 1\n' }])
  await ctx.w.writeSpec('imp', {
    schema_version: 2, id: 'imp',
    comfyui: { repo: world.core.url, ref: 'master' },
    custom_nodes: [
      ...world.nodes.map(n => ({ repo: n.url, ref: 'main' })),
      { repo: broken.url, ref: 'main' },
      { repo: bare.url, ref: 'main' },
    ],
    python: { find_links: [world.wheels] },
  })
  assert.is((await ctx.w.cli(['validate', 'imp'])).code, 0)
  const r = await ctx.w.cli(['realize', 'imp', '--offline'])
  assert.is(r.code, 0, r.stderr)
}))
V.after(guarded(async ctx => { await ctx.w.cleanup() }))

V('without --imports the home holds (nothing is started)', async ctx => {
  const r = await ctx.w.cli(['verify', 'imp', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.not.ok(r.json<Verify>().checks.some(c => c.id.startsWith('import:')))
})

V('with --imports: the failing nodes are drift rows with their error, the others ok; exit 1', async ctx => {
  const r = await ctx.w.cli(['verify', 'imp', '--imports', '--json'])
  assert.is(r.code, 1, r.stderr)
  const doc = r.json<Verify>()
  assert.is(check(doc, 'import:ComfyUI-DemoGreeting')?.status, 'ok', JSON.stringify(doc.checks))
  assert.is(check(doc, 'import:ComfyUI-DemoPalette')?.status, 'ok')
  const broken = check(doc, 'import:BrokenNode')!
  assert.is(broken.status, 'drift')
  assert.match(broken.detail!, /ModuleNotFoundError: No module named 'demo_missing_module'/)
  assert.match(broken.detail!, /import demo_missing_module/)
  assert.is(check(doc, 'import:NoMappings')?.status, 'drift')
  assert.match(check(doc, 'import:NoMappings')!.detail!, /NODE_CLASS_MAPPINGS/)

  const human = await ctx.w.cli(['verify', 'imp', '--imports'])
  assert.is(human.code, 1)
  assert.match(human.stdout, /drift\s+import:BrokenNode: failed to import: .*demo_missing_module/)
  assert.match(human.stdout, /→ the node's own error/)
  assert.not.match(human.stdout, /--repair` brings/, 'repair cannot fix a node\'s own import error')
})

V('parseImportLog reads the summary and the failure lines as ComfyUI prints them', () => {
  const log = [
    'Traceback (most recent call last):',
    '  File "/comfyui/nodes.py", line 2131, in load_custom_node',
    '    module_spec.loader.exec_module(module)',
    '  File "/comfyui/custom_nodes/ComfyUI-Broken/__init__.py", line 1, in <module>',
    '    import cv2',
    "ModuleNotFoundError: No module named 'cv2'",
    '',
    "Cannot import /comfyui/custom_nodes/ComfyUI-Broken module for custom nodes: No module named 'cv2'",
    '',
    'Import times for custom nodes:',
    '   0.0 seconds: /comfyui/custom_nodes/websocket_image_save.py',
    '   0.3 seconds (IMPORT FAILED): /comfyui/custom_nodes/ComfyUI-Broken',
    '   1.2 seconds: /comfyui/custom_nodes/comfyui-impact-pack',
  ].join('\n')
  assert.equal(parseImportLog(log), {
    imported: ['websocket_image_save.py', 'comfyui-impact-pack'],
    failed: [{ folder: 'ComfyUI-Broken', lines: ['File "/comfyui/custom_nodes/ComfyUI-Broken/__init__.py", line 1, in <module>', 'import cv2', "ModuleNotFoundError: No module named 'cv2'"] }],
  })
})

V.run()
