/**
 * verify and realize --repair through the real CLI (issue 15): each drift made by hand in a realized home is found
 * with its row and exit 1, then brought back by `realize --repair` so that verify exits 0.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; core: TestRepo; node: TestRepo; wheels: string; model: string }
const V = suite<Ctx>('cli: verify and realize --repair')

type Verify = { version: string; home: string; ok: boolean; checks: { id: string; status: string; detail?: string }[] }
const OFFLINE = ['--offline']
const home = (ctx: Ctx) => ctx.w.home('v')
const check = (doc: Verify, id: string) => doc.checks.find(c => c.id === id)

async function verify(ctx: Ctx, extra: string[] = []): Promise<{ code: number; doc: Verify }> {
  const r = await ctx.w.cli(['verify', 'v', '--json', ...extra])
  return { code: r.code ?? -1, doc: r.json<Verify>() }
}
async function repair(ctx: Ctx, extra: string[] = []) {
  return ctx.w.cli(['realize', 'v', '--repair', ...OFFLINE, ...extra])
}

V.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-verify-')
  ctx.wheels = join(ctx.w.dir, 'wheels')
  buildWheel(ctx.wheels, { name: 'demo-greet', version: '1.0' })
  buildWheel(ctx.wheels, { name: 'demo-greet', version: '1.1' })
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.node = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n', 'requirements.txt': 'demo-greet==1.0\n' }])
  ctx.model = join(ctx.w.dir, 'model.safetensors')
  writeFileSync(ctx.model, randomBytes(8192))
  await ctx.w.writeSpec('v', {
    schema_version: 2, id: 'v',
    comfyui: { repo: ctx.core.url, ref: 'master' },
    custom_nodes: [{ repo: ctx.node.url, ref: 'main' }],
    models: [{ path: 'checkpoints/m.safetensors', url: pathToFileURL(ctx.model).href }],
    python: { find_links: [ctx.wheels] },
  })
  // validate pins the refs, which fills the git mirrors that the offline realizes (pip from find_links only) use.
  assert.is((await ctx.w.cli(['validate', 'v'])).code, 0)
  const r = await ctx.w.cli(['realize', 'v', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
}))
V.after(guarded(async ctx => { await ctx.w.cleanup() }))

V('an untouched home: every check holds, exit 0', async ctx => {
  const { code, doc } = await verify(ctx)
  assert.is(code, 0, JSON.stringify(doc))
  assert.is(doc.ok, true)
  assert.equal(doc.checks.map(c => c.id).sort(), ['clone-core', 'clone-node:NodeA', 'model:checkpoints/m.safetensors', 'python:demo-greet'])
  assert.ok(doc.checks.every(c => c.status === 'ok'))
})

V('list shows when the home was last realized and verified, and what verify found', async ctx => {
  type Row = { id: string; last_realize: { ok: boolean; at: string } | null; last_verify: { ok: boolean; drift: number; checks: number } | null }
  await verify(ctx)
  const row = (await ctx.w.cli(['list', '--json'])).json<{ versions: Row[] }>().versions.find(v => v.id === 'v')!
  assert.is(row.last_realize?.ok, true)
  assert.equal(row.last_verify && { ok: row.last_verify.ok, drift: row.last_verify.drift, checks: row.last_verify.checks }, { ok: true, drift: 0, checks: 4 })
  assert.match((await ctx.w.cli(['list'])).stdout, /^v .*; realized \d{4}-\d\d-\d\d \d\d:\d\d UTC; verified \d{4}-\d\d-\d\d \d\d:\d\d UTC: all hold$/m)
  execFileSync(join(home(ctx), '.venv', 'bin', 'python'), ['-m', 'pip', 'uninstall', '-y', '-q', 'demo-greet'])
  await verify(ctx)
  assert.match((await ctx.w.cli(['list'])).stdout, /verified .*: 1 of 4 checks do not hold$/m)
  assert.is((await repair(ctx)).code, 0)
})

V('a package uninstalled by hand is missing; repair installs it again', async ctx => {
  execFileSync(join(home(ctx), '.venv', 'bin', 'python'), ['-m', 'pip', 'uninstall', '-y', '-q', 'demo-greet'])
  const before = await verify(ctx)
  assert.is(before.code, 1)
  assert.equal(check(before.doc, 'python:demo-greet'), { id: 'python:demo-greet', status: 'missing', detail: 'demo-greet==1.0 is not installed' })
  const r = await repair(ctx)
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /repair: python:demo-greet missing .*: running uv-install again/)
  assert.is((await verify(ctx)).code, 0)
})

V('a package upgraded by hand drifts; repair puts the lock\'s version back', async ctx => {
  execFileSync(join(home(ctx), '.venv', 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--no-index', '--find-links', ctx.wheels, 'demo-greet==1.1'])
  const before = await verify(ctx)
  assert.equal(check(before.doc, 'python:demo-greet')?.status, 'drift')
  assert.match(check(before.doc, 'python:demo-greet')!.detail!, /1\.1 is installed, the lock pins 1\.0/)
  assert.is((await repair(ctx)).code, 0)
  assert.is((await verify(ctx)).code, 0)
})

V('a file edited in a node checkout: found, kept by repair without --force, reset with it', async ctx => {
  const file = join(home(ctx), 'custom_nodes', 'NodeA', '__init__.py')
  writeFileSync(file, 'a = "mine"\n')
  const before = await verify(ctx)
  assert.is(before.code, 1)
  assert.equal(check(before.doc, 'clone-node:NodeA'), { id: 'clone-node:NodeA', status: 'drift', detail: 'modified or deleted: __init__.py' })
  const text = await ctx.w.cli(['verify', 'v'])
  assert.is(text.code, 1)
  assert.match(text.stdout, /drift   clone-node:NodeA: modified or deleted: __init__\.py\n +→ realize --repair --force resets the checkout/)
  assert.match(text.stdout, /v: 1 of 4 check\(s\) do not hold .*; `realize v --repair` brings them back/)
  const kept = await repair(ctx)
  assert.is(kept.code, 1, kept.stderr)
  assert.is(readFileSync(file, 'utf8'), 'a = "mine"\n', 'kept without --force')
  const reset = await repair(ctx, ['--force'])
  assert.is(reset.code, 0, reset.stderr)
  assert.is(readFileSync(file, 'utf8'), 'a = 1\n')
  assert.is((await verify(ctx)).code, 0)
})

V('a node folder deleted, a model link replaced by a copy: found and repaired', async ctx => {
  rmSync(join(home(ctx), 'custom_nodes', 'NodeA'), { recursive: true })
  const link = join(home(ctx), 'models', 'checkpoints', 'm.safetensors')
  rmSync(link)
  copyFileSync(ctx.model, link)
  const before = await verify(ctx)
  assert.is(before.code, 1)
  assert.is(check(before.doc, 'clone-node:NodeA')?.status, 'missing')
  assert.is(check(before.doc, 'model:checkpoints/m.safetensors')?.status, 'drift')
  assert.is((await repair(ctx)).code, 0)
  assert.ok(existsSync(join(home(ctx), 'custom_nodes', 'NodeA', '__init__.py')))
  assert.is((await verify(ctx)).code, 0)
})

V('a node folder deleted behind the tool: a plain realize puts it back and says once that the home was changed outside it', async ctx => {
  rmSync(join(home(ctx), 'custom_nodes', 'NodeA'), { recursive: true })
  const r = await ctx.w.cli(['realize', 'v', ...OFFLINE])
  assert.is(r.code, 0, r.stderr)
  const notes = r.stderr.split('\n').filter(l => l.includes('was changed outside comfy-vc'))
  assert.is(notes.length, 1, r.stderr)
  assert.match(notes[0]!, /\(clone-node:NodeA: what they made was missing or changed\); realize made it again\. `verify v` finds such changes/)
  const again = await ctx.w.cli(['realize', 'v', ...OFFLINE])
  assert.not.match(again.stderr, /changed outside/)
})

V('a blob changed in the store is found only with --hashes', async ctx => {
  const doc = (await verify(ctx)).doc
  assert.is(doc.ok, true)
  const blob = execFileSync('readlink', ['-f', join(home(ctx), 'models', 'checkpoints', 'm.safetensors')], { encoding: 'utf8' }).trim()
  execFileSync('chmod', ['u+w', blob])
  // Same size, other bytes, and the sealed time put back: only hashing can tell.
  const bytes = readFileSync(blob); bytes[0] = bytes[0]! ^ 0xff; writeFileSync(blob, bytes)
  execFileSync('touch', ['-d', '@1', blob])
  assert.is((await verify(ctx)).code, 0)
  const hashed = await verify(ctx, ['--hashes'])
  assert.is(hashed.code, 1)
  assert.match(check(hashed.doc, 'model:checkpoints/m.safetensors')!.detail!, /its bytes hash to [0-9a-f]{64}, not the pinned/)
})

V.run()
