/**
 * Reliability and security through the real CLI (issue 21): homes known by their real path, location variables
 * that are set but empty or point at a file refused before anything is written.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { collect, makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'
import { makeGitShim } from './helpers/git-shim.ts'
import { pollUntil } from './helpers/poll-until.ts'

interface Ctx { w: World; core: TestRepo; node: TestRepo; srv: TestServer }
const H = suite<Ctx>('cli: reliability and security')

const MODEL = Buffer.alloc(256 * 1024, 3)

H.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  ctx.core = await makeRepo(join(ctx.w.dir, 'repos'), 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.node = await makeRepo(join(ctx.w.dir, 'repos'), 'NodeX', [{ '__init__.py': 'x = 1\n' }])
  // Slow: the first realize still holds the home when the second one starts.
  ctx.srv = await startServer({ '/slow.bin': { body: MODEL, etag: '"s1"', bytesPerSecond: 48 * 1024 } })
  await ctx.w.writeSpec('h', {
    schema_version: 2, id: 'h', comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
    models: [{ path: 'checkpoints/slow.safetensors', url: `${ctx.srv.url}/slow.bin`, sha256: createHash('sha256').update(MODEL).digest('hex') }],
  })
}))
H.after(guarded(async ctx => { await ctx.srv.close(); await ctx.w.cleanup() }))

for (const name of ['COMFY_HOME', 'MODELS_DIR', 'COMFY_CACHE_ROOT']) {
  H(`${name}="" is a usage error naming it (exit 2), and nothing is written`, async ctx => {
    const cache = join(ctx.w.dir, `cache-empty-${name}`)
    const r = await ctx.w.cli(['realize', 'h'], { env: { COMFY_CACHE_ROOT: cache, [name]: '' } })
    assert.is(r.code, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`environment: ${name}: is set but empty`))
    assert.not.match(r.stderr, /\n\s+at /, 'no stack')
    assert.not.ok(existsSync(cache), 'no cache folder made')
  })
}

H('MODELS_DIR naming a file is exit 2 naming the variable and the file, before anything is written', async ctx => {
  const file = join(ctx.w.dir, 'not-a-folder')
  writeFileSync(file, 'x')
  const cache = join(ctx.w.dir, 'cache-models-file')
  const r = await ctx.w.cli(['realize', 'h'], { env: { COMFY_CACHE_ROOT: cache, MODELS_DIR: file } })
  assert.is(r.code, 2, r.stderr)
  assert.ok(r.stderr.includes(`environment: MODELS_DIR: ${file} exists and is not a folder`), r.stderr)
  assert.not.ok(existsSync(cache))
})

H('two realizes of one home, one through a symlinked path, run one after the other; both end whole', async ctx => {
  const { w } = ctx
  const real = join(w.dir, 'real-homes', 'h')
  mkdirSync(join(w.dir, 'real-homes'))
  symlinkSync(join(w.dir, 'real-homes'), join(w.dir, 'linked-homes'))
  const first = w.spawn(['realize', 'h'], { env: { COMFY_HOME: real } })
  const firstDone = collect(first)
  await pollUntil('the first realize to start the download', () => ctx.srv.requests.some(r => r.path === '/slow.bin' && r.method === 'GET'))
  const second = w.spawn(['realize', 'h'], { env: { COMFY_HOME: join(w.dir, 'linked-homes', 'h') } })
  let stderr = ''
  second.stderr!.on('data', d => { stderr += d })
  const secondDone = collect(second)
  await pollUntil('the second realize to wait for the first', () => stderr.includes(`waiting for another realize of ${real}`), { guardMs: 30_000 })
  const [a, b] = await Promise.all([firstDone, secondDone])
  assert.is(a.code, 0, a.stderr)
  assert.is(b.code, 0, b.stderr)
  assert.match(b.stderr, /0 ran/, 'the second found the home done')
  assert.ok(existsSync(join(real, 'models', 'checkpoints', 'slow.safetensors')))
})

H('custom_nodes/<node> a symlink to a folder outside the home: exit 1 naming the link, the outside folder untouched', async ctx => {
  const { w } = ctx
  const core = { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] }
  await w.writeSpec('esc', { schema_version: 2, id: 'esc', comfyui: core })
  const made = await w.cli(['realize', 'esc'])
  assert.is(made.code, 0, made.stderr)
  const outside = join(w.dir, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'mine.txt'), 'user data\n')
  const link = join(w.home('esc'), 'custom_nodes', 'NodeX')
  mkdirSync(join(w.home('esc'), 'custom_nodes'), { recursive: true })
  symlinkSync(outside, link)
  await w.writeSpec('esc', { schema_version: 2, id: 'esc', comfyui: core, custom_nodes: [{ name: 'NodeX', repo: ctx.node.url, ref: 'main', commit: ctx.node.commits[0] }] })
  const r = await w.cli(['realize', 'esc'])
  assert.is(r.code, 1, r.stderr)
  assert.ok(r.stderr.includes(`${link} is a symbolic link (to ${outside})`), r.stderr)
  assert.equal(readdirSync(outside), ['mine.txt'])
  assert.is(readFileSync(join(outside, 'mine.txt'), 'utf8'), 'user data\n')
})

H('a repository URL with a password: no git process gets it on its command line, no message shows it', async ctx => {
  const shim = makeGitShim(ctx.w.dir)
  // Nothing listens there: git gets as far as connecting, which is where the URL would show.
  const url = 'http://me:s3cret-pw@127.0.0.1:9/private/ComfyUI.git'
  await ctx.w.writeSpec('pw', { schema_version: 2, id: 'pw', comfyui: { repo: url, ref: 'master' } })
  const r = await ctx.w.cli(['validate', 'pw'], { env: { PATH: `${shim.binDir}:${process.env.PATH}` } })
  assert.is(r.code, 1, r.stderr)
  assert.ok(shim.count() > 0, 'git ran')
  for (const line of shim.lines()) assert.not.ok(line.includes('s3cret-pw'), `on a command line: git ${line}`)
  assert.not.ok(r.stderr.includes('s3cret-pw'), r.stderr)
})

H('a pinned commit the repository does not have: validate exits 2 naming the node and its JSON path, nothing written', async ctx => {
  const ghost = 'ab'.repeat(20)
  const text = `${JSON.stringify({ schema_version: 2, id: 'ghost', comfyui: { repo: ctx.core.url, commit: ctx.core.commits[0] }, custom_nodes: [{ repo: ctx.node.url, commit: ghost }] }, null, 2)}\n`
  const file = await ctx.w.writeSpec('ghost', text)
  const r = await ctx.w.cli(['validate', 'ghost'])
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`versions/ghost\\.json: custom_nodes\\[0\\]\\.commit: NodeX: commit ${ghost} is not in .*NodeX`))
  assert.not.match(r.stderr, /\n\s+at /, 'no stack')
  assert.is(readFileSync(file, 'utf8'), text, 'the spec is unchanged')
})

H.run()
