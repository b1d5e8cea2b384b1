import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeWorld, ROOT, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { follow, killLeftovers } from './helpers/follow.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; core: TestRepo }
const S = suite<Ctx>('cli: delete keeps the user\'s files and refuses a home in use')

S.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-delete-')
  ctx.core = await makeRepo(join(ctx.w.dir, 'repos'), 'ComfyUI', [{ 'main.py': 'print(1)\n', 'requirements.txt': '', 'models/checkpoints/put_checkpoints_here': '' }], { branch: 'master' })
  const model = join(ctx.w.dir, 'files', 'tool.safetensors')
  mkdirSync(join(ctx.w.dir, 'files'), { recursive: true })
  writeFileSync(model, 'model bytes')
}))
S.after.each(guarded(() => killLeftovers()))
S.after(guarded(async ctx => { await ctx.w.cleanup() }))

async function realized({ w, core }: Ctx, id: string): Promise<string> {
  await w.writeSpec(id, {
    schema_version: 2, id, comfyui: { repo: core.url, commit: core.commits[0] }, custom_nodes: [],
    models: [{ path: 'checkpoints/tool.safetensors', url: pathToFileURL(join(w.dir, 'files', 'tool.safetensors')).href }],
  })
  const r = await w.cli(['realize', id])
  assert.is(r.code, 0, r.stderr)
  return w.home(id)
}

S('delete removes what the tool made and keeps output/, input/, user/ and the models the user put there', async ctx => {
  const home = await realized(ctx, 'keep')
  for (const [path, body] of [['output/ComfyUI_00001_.png', 'png'], ['input/photo.jpg', 'jpg'], ['user/default/workflows/w.json', '{}'], ['models/loras/mine.safetensors', 'mine']] as const) {
    mkdirSync(join(home, path, '..'), { recursive: true })
    writeFileSync(join(home, path), body)
  }
  const r = await ctx.w.cli(['delete', 'keep', '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /kept your files in .*: output\/, input\/, user\/, models\/loras\/mine\.safetensors/)
  assert.match(r.stderr, /add --purge to remove them too/)
  assert.equal(readdirSync(home).sort(), ['input', 'models', 'output', 'user'])
  assert.equal(readdirSync(join(home, 'models')), ['loras'])
  assert.ok(existsSync(join(home, 'user/default/workflows/w.json')))
  assert.equal(r.json().kept.map((p: string) => p.slice(home.length + 1)), ['output/', 'input/', 'user/', 'models/loras/mine.safetensors'])
})

S('delete --purge removes the whole home; a home without user files goes whole without it', async ctx => {
  const home = await realized(ctx, 'purge')
  mkdirSync(join(home, 'output'), { recursive: true })
  writeFileSync(join(home, 'output', 'a.png'), 'png')
  const r = await ctx.w.cli(['delete', 'purge', '--purge'])
  assert.is(r.code, 0, r.stderr)
  assert.not.ok(existsSync(home))
  assert.not.match(r.stderr, /kept/)
  const plain = await realized(ctx, 'plain')
  const p = await ctx.w.cli(['delete', 'plain'])
  assert.is(p.code, 0, p.stderr)
  assert.not.ok(existsSync(plain))
})

S('delete is refused while a realize holds the home or a ComfyUI from its environment runs', async ctx => {
  const home = await realized(ctx, 'busy')
  // Another process holding the home's lock, as a realize does.
  const holder = follow(spawn(process.execPath, ['--import', 'tsx', '-e', `
    const { acquireLock } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'lib/util/lock.ts')).href)})
    const { cacheLayout } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'lib/layout/cache.ts')).href)})
    await acquireLock(cacheLayout(${JSON.stringify(ctx.w.cache)}).homeLock(${JSON.stringify(home)}))
    console.log('held'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0))`], { cwd: ROOT, detached: true, stdio: ['pipe', 'pipe', 'pipe'] }))
  await holder.waitFor('stdout', /held/)
  const locked = await ctx.w.cli(['delete', 'busy'])
  assert.is(locked.code, 1, locked.stderr)
  assert.match(locked.stderr, new RegExp(`a realize is building .*held by pid ${holder.child.pid} on host .*nothing was deleted`))
  holder.child.stdin!.end()
  await holder.exit

  // ComfyUI as run-ui starts it: the home environment's python.
  const comfy = follow(spawn(join(home, '.venv', 'bin', 'python'), ['-c', 'import sys; print("up", flush=True); sys.stdin.read()'], { cwd: home, detached: true, stdio: ['pipe', 'pipe', 'pipe'] }))
  await comfy.waitFor('stdout', /up/)
  const running = await ctx.w.cli(['delete', 'busy', '--json'])
  assert.is(running.code, 1, running.stderr)
  assert.match(running.stderr, new RegExp(`ComfyUI started by comfy-vc runs in .*pid ${comfy.child.pid}.*nothing was deleted`))
  assert.is(running.json().ok, false)
  assert.ok(existsSync(join(home, 'main.py')), 'nothing deleted')
  comfy.child.stdin!.end()
  await comfy.exit
  const done = await ctx.w.cli(['delete', 'busy'])
  assert.is(done.code, 0, done.stderr)
  assert.not.ok(existsSync(home))
})

S.run()
