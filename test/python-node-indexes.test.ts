/**
 * python.node_indexes through the real CLI on pip (issue 17), against two PEP 503 indexes on 127.0.0.1: the spec's
 * own (empty) and one a node's requirements.txt names with --extra-index-url. "allow" uses the node's index and says
 * which node added it; "deny" says so too and never asks it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; specIndex: TestServer; nodeIndex: TestServer; core: TestRepo; node: TestRepo }
const N = suite<Ctx>('cli: index URLs in node requirements (python.node_indexes)')

type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; note?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!

const spec = (ctx: Ctx, node_indexes: 'allow' | 'deny') => ({
  schema_version: 2, id: 'ni',
  comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
  custom_nodes: [{ name: 'NodeP', repo: ctx.node.url, ref: 'main', commit: ctx.node.commits[0] }],
  python: { index_url: `${ctx.specIndex.url}/simple`, node_indexes },
})

N.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-node-indexes-')
  const wheel = buildWheel(join(ctx.w.dir, 'private'), { name: 'demo-private', version: '1.0' })
  const file = `/files/${basename(wheel)}`
  ctx.nodeIndex = await startServer({
    '/simple/demo-private/': { handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<a href="${file}">${basename(wheel)}</a>`) },
    [file]: { body: readFileSync(wheel) },
  })
  // The spec's index has nothing: whatever is installed came from the node's.
  ctx.specIndex = await startServer({})
  const dir = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(dir, 'ComfyUI', [{ 'main.py': '', 'requirements.txt': '' }], { branch: 'master' })
  ctx.node = await makeRepo(dir, 'NodeP', [{ '__init__.py': '', 'requirements.txt': `--extra-index-url ${ctx.nodeIndex.url}/simple\ndemo-private\n` }])
}))
N.after(guarded(async ctx => { await ctx.nodeIndex.close(); await ctx.specIndex.close(); await ctx.w.cleanup() }))

N('"deny": the node\'s index is reported with the node that gave it and never asked; the package is then not found', async ctx => {
  await ctx.w.writeSpec('ni', spec(ctx, 'deny'))
  const r = await ctx.w.cli(['realize', 'ni', '--json'])
  assert.is(r.code, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`NodeP: index ${ctx.nodeIndex.url}/simple is not used \\(python\\.node_indexes is "deny"\\)`))
  assert.match(task(r.json<Report>(), 'collect-deps').note!, new RegExp(`; index ${ctx.nodeIndex.url}/simple from NodeP not used \\(node_indexes: deny\\)$`))
  assert.is(task(r.json<Report>(), 'uv-compile').status, 'failed')
  assert.match(task(r.json<Report>(), 'uv-compile').error!, /demo-private/)
  assert.is(ctx.nodeIndex.requests.length, 0, 'the denied index was never asked')
})

N('"allow": the node\'s index is used as an extra index, and the report says which node added it', async ctx => {
  await ctx.w.writeSpec('ni', spec(ctx, 'allow'))
  const r = await ctx.w.cli(['realize', 'ni', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, new RegExp(`NodeP: --extra-index-url ${ctx.nodeIndex.url}/simple`))
  assert.ok(ctx.nodeIndex.hits('/simple/demo-private/') > 0)
  assert.match(task(r.json<Report>(), 'collect-deps').note!, new RegExp(`; index ${ctx.nodeIndex.url}/simple added by NodeP$`))
})

N.run()
