/**
 * Registry (CNR) nodes through the real CLI (issue 13), against a Comfy Registry stand-in on 127.0.0.1 serving zip
 * archives made by Python's zipfile: validate pins the version and the archive's sha256, realize unpacks into
 * custom_nodes/<name> with ComfyUI-Manager's .tracking, a version switch keeps the user's files, a second home and an
 * offline run take the archive from the store, and hostile or unknown input is refused with nothing written.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { buildWheel } from './helpers/wheels.ts'
import { startRegistry, type Registry } from './helpers/registry-standin.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; reg: Registry; wheels: string; core: TestRepo; gitNode: TestRepo; env: Record<string, string> }
const C = suite<Ctx>('cli: registry (CNR) nodes')

type Report = { ok: boolean; tasks: { id: string; status: string; error?: string; note?: string }[] }
const task = (r: Report, id: string) => r.tasks.find(t => t.id === id)!
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

const KJ_100 = {
  '__init__.py': 'VERSION = "1.0.0"\n', 'nodes.py': 'NODE_CLASS_MAPPINGS = {}\n', 'old_only.py': '# gone in 1.1.0\n',
  'web/js/a.js': '// a\n', 'requirements.txt': 'demo-greet>=1.0\n',
  'pyproject.toml': '[project]\nname = "comfyui-kjnodes"\nversion = "1.0.0"\n\n[project.urls]\nRepository = "https://github.com/kijai/ComfyUI-KJNodes"\n',
}
const KJ_110 = {
  '__init__.py': 'VERSION = "1.1.0"\n', 'nodes.py': 'NODE_CLASS_MAPPINGS = {}\n', 'web/js/b.js': '// b\n',
  'requirements.txt': 'demo-greet>=1.0\ndemo-extra\n',
  'pyproject.toml': '[project]\nname = "comfyui-kjnodes"\nversion = "1.1.0"\n\n[project.urls]\nRepository = "https://github.com/kijai/ComfyUI-KJNodes"\n',
}

function spec(ctx: Ctx, id: string, nodes: unknown[]) {
  return {
    schema_version: 2, id,
    comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
    custom_nodes: nodes,
    // Wheels from the folder; the registry server answers the index's 404s, so pip never leaves 127.0.0.1.
    python: { find_links: [ctx.wheels], index_url: `${ctx.reg.url}/simple` },
  }
}
const gitNode = (ctx: Ctx) => ({ repo: ctx.gitNode.url, ref: 'main', commit: ctx.gitNode.commits[0] })

function distInfos(home: string): string[] {
  const lib = join(home, '.venv', 'lib')
  const py = readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!
  return readdirSync(join(lib, py, 'site-packages')).filter(d => d.startsWith('demo_') && d.endsWith('.dist-info')).sort()
}

/** Every file under a folder, relative, sorted. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? files(dir, join(prefix, e.name)) : [join(prefix, e.name)]).sort()
}

C.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-registry-')
  ctx.reg = await startRegistry(join(ctx.w.dir, 'archives'))
  ctx.env = { COMFY_REGISTRY_URL: ctx.reg.url }
  ctx.wheels = join(ctx.w.dir, 'wheels')
  for (const [name, version] of [['demo-greet', '1.0'], ['demo-extra', '1.0']]) buildWheel(ctx.wheels, { name: name!, version: version! })
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.gitNode = await makeRepo(repos, 'GitNode', [{ '__init__.py': 'g = 1\n' }])
  ctx.reg.publish('comfyui-kjnodes', '1.0.0', KJ_100, { repository: 'https://github.com/kijai/ComfyUI-KJNodes' })
  ctx.reg.publish('comfyui-kjnodes', '1.1.0', KJ_110, { repository: 'https://github.com/kijai/ComfyUI-KJNodes' })
  ctx.reg.publish('evil-pack', '1.0.0', { '__init__.py': '', '../escaped.py': 'print("out")\n' })
  ctx.reg.publish('link-pack', '1.0.0', { '__init__.py': '', 'web': { symlink: '/etc' } })
  ctx.reg.addUnpublished('nightly-only', 'https://github.com/example/nightly-only')
}))
C.after(guarded(async ctx => { await ctx.reg.close(); await ctx.w.cleanup() }))

C('validate pins the latest version and the archive sha256 of a node without a version, downloading it once into the store', async ctx => {
  const { w, reg } = ctx
  await w.writeSpec('pin', spec(ctx, 'pin', [{ registry: 'comfyui-kjnodes' }, { registry: 'comfyui-kjnodes', name: 'kj-old', version: '1.0.0' }]))
  const r = await w.cli(['validate', 'pin'], { env: ctx.env })
  assert.is(r.code, 0, r.stderr)
  const pinned = JSON.parse(readFileSync(join(w.versions, 'pin.json'), 'utf8')) as { custom_nodes: { version?: string; sha256?: string }[] }
  assert.equal(pinned.custom_nodes[0], { registry: 'comfyui-kjnodes', version: '1.1.0', sha256: sha256(readFileSync(join(w.dir, 'archives', 'comfyui-kjnodes-1.1.0.zip'))) })
  assert.is(pinned.custom_nodes[1]!.sha256, sha256(readFileSync(join(w.dir, 'archives', 'comfyui-kjnodes-1.0.0.zip'))))
  assert.is(reg.archiveHits('comfyui-kjnodes', '1.1.0'), 1)
  const again = await w.cli(['validate', 'pin'], { env: ctx.env })
  assert.is(again.code, 0, again.stderr)
  assert.is(reg.archiveHits('comfyui-kjnodes', '1.1.0'), 1, 'pinned and in the store: not downloaded again')
})

C('realize: a git node and a registry node in custom_nodes/, .tracking as ComfyUI-Manager writes it, requirements installed; a second realize does nothing', async ctx => {
  const { w, reg } = ctx
  const hits = reg.archiveHits('comfyui-kjnodes', '1.0.0')
  await w.writeSpec('mixed', spec(ctx, 'mixed', [gitNode(ctx), { registry: 'comfyui-kjnodes', name: 'kj', version: '1.0.0' }]))
  const r = await w.cli(['realize', 'mixed', '--json'], { env: ctx.env })
  assert.is(r.code, 0, r.stderr)
  const home = w.home('mixed')
  const kj = join(home, 'custom_nodes', 'kj')
  assert.equal(files(kj), ['.tracking', '__init__.py', 'nodes.py', 'old_only.py', 'pyproject.toml', 'requirements.txt', 'web/js/a.js'])
  // Python's namelist() in the archive's order, joined by "\n" without a trailing newline.
  assert.is(readFileSync(join(kj, '.tracking'), 'utf8'), Object.keys(KJ_100).join('\n'))
  assert.ok(existsSync(join(home, 'custom_nodes', 'GitNode', '.git')))
  assert.equal(distInfos(home), ['demo_greet-1.0.dist-info'])
  assert.is(task(r.json<Report>(), 'unpack-node:kj').status, 'ran')
  assert.ok(reg.archiveHits('comfyui-kjnodes', '1.0.0') <= hits + 1, 'downloaded at most once (validate may have stored it)')
  const api = reg.apiHits()
  const second = await w.cli(['realize', 'mixed', '--json'], { env: ctx.env })
  assert.is(second.code, 0, second.stderr)
  assert.equal(second.json<Report>().tasks.filter(t => t.status !== 'skipped').map(t => t.id), [])
  assert.is(reg.apiHits(), api, 'the archive is in the store: the registry is not asked')
})

C('switching a registry node to another version leaves exactly that version\'s files plus the user\'s own', async ctx => {
  const { w } = ctx
  await w.writeSpec('switch', spec(ctx, 'switch', [{ registry: 'comfyui-kjnodes', name: 'kj', version: '1.0.0' }]))
  assert.is((await w.cli(['realize', 'switch'], { env: ctx.env })).code, 0)
  const kj = join(w.home('switch'), 'custom_nodes', 'kj')
  await writeFile(join(kj, 'my_notes.txt'), 'mine\n')
  await writeFile(join(kj, 'web', 'js', 'mine.js'), '// mine\n')
  await w.writeSpec('switch', spec(ctx, 'switch', [{ registry: 'comfyui-kjnodes', name: 'kj', version: '1.1.0' }]))
  const r = await w.cli(['realize', 'switch', '--json'], { env: ctx.env })
  assert.is(r.code, 0, r.stderr)
  assert.equal(files(kj), ['.tracking', '__init__.py', 'my_notes.txt', 'nodes.py', 'pyproject.toml', 'requirements.txt', 'web/js/b.js', 'web/js/mine.js'])
  assert.is(readFileSync(join(kj, '__init__.py'), 'utf8'), KJ_110['__init__.py'])
  assert.match(task(r.json<Report>(), 'unpack-node:kj').note!, /switched to 1\.1\.0, 2 file\(s\) of the old version removed/)
  assert.equal(distInfos(w.home('switch')), ['demo_extra-1.0.dist-info', 'demo_greet-1.0.dist-info'])
})

C('a second home takes the archive from the store: no download, and offline works', async ctx => {
  const { w, reg } = ctx
  await w.writeSpec('first', spec(ctx, 'first', [{ registry: 'comfyui-kjnodes', version: '1.1.0' }]))
  assert.is((await w.cli(['validate', 'first'], { env: ctx.env })).code, 0)
  assert.is((await w.cli(['realize', 'first'], { env: ctx.env })).code, 0)
  const hits = reg.archiveHits('comfyui-kjnodes', '1.1.0')
  const api = reg.apiHits()
  const pinned = JSON.parse(readFileSync(join(w.versions, 'first.json'), 'utf8'))
  await w.writeSpec('second', { ...pinned, id: 'second' })
  const r = await w.cli(['realize', 'second', '--offline', '--frozen', '--json'], { env: ctx.env })
  assert.is(r.code, 0, r.stderr)
  assert.ok(existsSync(join(w.home('second'), 'custom_nodes', 'comfyui-kjnodes', '.tracking')))
  assert.is(reg.archiveHits('comfyui-kjnodes', '1.1.0'), hits, 'no second download')
  assert.is(reg.apiHits(), api, 'the registry is not asked')
})

C('--frozen needs a registry node\'s version and sha256', async ctx => {
  const { w } = ctx
  await w.writeSpec('loose', spec(ctx, 'loose', [{ registry: 'comfyui-kjnodes' }]))
  const r = await w.cli(['realize', 'loose', '--frozen'], { env: ctx.env })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /custom_nodes\[0\]\.version: --frozen needs every repo and model pinned: registry node comfyui-kjnodes has no version/)
  assert.match(r.stderr, /custom_nodes\[0\]\.sha256: .*has no archive sha256/)
})

C('an archive with an entry leaving its folder, or a symbolic link, is refused: exit 1 naming it, nothing written', async ctx => {
  const { w } = ctx
  await w.writeSpec('evil', spec(ctx, 'evil', [{ registry: 'evil-pack', version: '1.0.0' }, { registry: 'link-pack', version: '1.0.0' }]))
  const r = await w.cli(['realize', 'evil', '--json'], { env: ctx.env })
  assert.is(r.code, 1, r.stderr)
  assert.match(task(r.json<Report>(), 'unpack-node:evil-pack').error!, /archive entry "\.\.\/escaped\.py" would land outside the node's folder; refused, nothing was written/)
  assert.match(task(r.json<Report>(), 'unpack-node:link-pack').error!, /symbolic link \(web\)/)
  const nodes = join(w.home('evil'), 'custom_nodes')
  assert.ok(!existsSync(join(nodes, 'evil-pack')) && !existsSync(join(nodes, 'link-pack')))
  assert.ok(!existsSync(join(nodes, 'escaped.py')) && !existsSync(join(w.home('evil'), 'escaped.py')))
  assert.equal(readdirSync(join(w.home('evil'), '.comfy-vc', 'unpack')), [], 'no unpacked leftovers')
})

C('an archive whose sha256 is not the pin: exit 1 naming both hashes, nothing at the node\'s path', async ctx => {
  const { w } = ctx
  await w.writeSpec('tampered', spec(ctx, 'tampered', [{ registry: 'comfyui-kjnodes', name: 'kj-t', version: '1.0.0', sha256: 'f'.repeat(64) }]))
  const r = await w.cli(['realize', 'tampered', '--json'], { env: ctx.env })
  assert.is(r.code, 1, r.stderr)
  const error = task(r.json<Report>(), 'unpack-node:kj-t').error!
  assert.ok(error.includes('f'.repeat(64)) && error.includes(sha256(readFileSync(join(w.dir, 'archives', 'comfyui-kjnodes-1.0.0.zip')))), error)
  assert.ok(!existsSync(join(w.home('tampered'), 'custom_nodes', 'kj-t')))
})

C('an unknown id or version is a spec error (exit 2) with its JSON path and the versions that exist; a registry that does not answer is exit 1 naming it', async ctx => {
  const { w } = ctx
  await w.writeSpec('unknown', spec(ctx, 'unknown', [{ registry: 'no-such-pack', version: '1.0.0' }, { registry: 'comfyui-kjnodes', name: 'kj-x', version: '9.9.9' }, { registry: 'nightly-only' }]))
  const r = await w.cli(['validate', 'unknown'], { env: ctx.env })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /versions\/unknown\.json: custom_nodes\[0\]\.registry: no-such-pack: "no-such-pack" is not a node in the Comfy Registry/)
  assert.match(r.stderr, /custom_nodes\[1\]\.version: kj-x: comfyui-kjnodes has no version 9\.9\.9 in the registry; it has 1\.1\.0, 1\.0\.0/)
  assert.match(r.stderr, /custom_nodes\[2\]\.registry: nightly-only: nightly-only has no published version .*https:\/\/github\.com\/example\/nightly-only/)
  const realize = await w.cli(['realize', 'unknown'], { env: ctx.env })
  assert.is(realize.code, 2, realize.stderr)
  await w.writeSpec('down', spec(ctx, 'down', [{ registry: 'comfyui-kjnodes', version: '1.0.0', name: 'kj-down' }]))
  const down = await w.cli(['realize', 'down'], { env: { COMFY_REGISTRY_URL: 'http://127.0.0.1:9' } })
  assert.is(down.code, 1, down.stderr)
  assert.match(down.stderr, /the Comfy Registry did not answer .*127\.0\.0\.1:9/)
})

C('create: a ComfyUI-Manager snapshot\'s registry nodes become registry entries, "nightly" ones git nodes through the registry; --node cnr:ID@VER adds one', async ctx => {
  const { w } = ctx
  const snapshot = join(w.dir, 'snapshot.json')
  await writeFile(snapshot, JSON.stringify({
    comfyui: ctx.core.commits[0],
    git_custom_nodes: { [ctx.gitNode.url]: { hash: ctx.gitNode.commits[0], disabled: false } },
    cnr_custom_nodes: { 'comfyui-kjnodes': '1.1.0', 'nightly-only': 'nightly', 'gone-pack': 'nightly' },
    file_custom_nodes: [], pips: {},
  }))
  const r = await w.cli(['create', 'snap', '--repo', `${ctx.core.url}@master`, '--from-snapshot', snapshot, '--node', 'cnr:evil-pack@1.0.0'], { env: ctx.env })
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /left out gone-pack \(nightly, a git clone\): the registry does not know it/)
  const written = JSON.parse(readFileSync(join(w.versions, 'snap.json'), 'utf8'))
  assert.equal(written.custom_nodes, [
    { registry: 'evil-pack', version: '1.0.0' },
    { repo: ctx.gitNode.url, commit: ctx.gitNode.commits[0], enabled: true },
    { registry: 'comfyui-kjnodes', version: '1.1.0' },
    { name: 'nightly-only', repo: 'https://github.com/example/nightly-only' },
  ])
})

C('disabling a registry node moves it to custom_nodes/.disabled/ and drops its requirements; removing it from the spec removes its files and keeps the user\'s', async ctx => {
  const { w } = ctx
  await w.writeSpec('toggle', spec(ctx, 'toggle', [{ registry: 'comfyui-kjnodes', name: 'kj', version: '1.0.0' }]))
  assert.is((await w.cli(['realize', 'toggle'], { env: ctx.env })).code, 0)
  const home = w.home('toggle')
  await writeFile(join(home, 'custom_nodes', 'kj', 'my_notes.txt'), 'mine\n')
  await w.writeSpec('toggle', spec(ctx, 'toggle', [{ registry: 'comfyui-kjnodes', name: 'kj', version: '1.0.0', enabled: false }]))
  const off = await w.cli(['realize', 'toggle', '--json'], { env: ctx.env })
  assert.is(off.code, 0, off.stderr)
  assert.ok(!existsSync(join(home, 'custom_nodes', 'kj')))
  assert.ok(existsSync(join(home, 'custom_nodes', '.disabled', 'kj', 'my_notes.txt')), 'moved with the user\'s file')
  await w.writeSpec('toggle', spec(ctx, 'toggle', []))
  const gone = await w.cli(['realize', 'toggle'], { env: ctx.env })
  assert.is(gone.code, 0, gone.stderr)
  assert.equal(files(join(home, 'custom_nodes', '.disabled', 'kj')), ['my_notes.txt'])
})

C('verify compares a registry node\'s files with its archive; realize --repair unpacks it again and keeps the user\'s files', async ctx => {
  const { w } = ctx
  await w.writeSpec('proof', spec(ctx, 'proof', [{ registry: 'comfyui-kjnodes', name: 'kj', version: '1.0.0' }]))
  assert.is((await w.cli(['realize', 'proof'], { env: ctx.env })).code, 0)
  const kj = join(w.home('proof'), 'custom_nodes', 'kj')
  assert.is((await w.cli(['verify', 'proof'], { env: ctx.env })).code, 0)
  await writeFile(join(kj, 'nodes.py'), '# edited\n')
  await writeFile(join(kj, 'mine.txt'), 'mine\n')
  const v = await w.cli(['verify', 'proof', '--json'], { env: ctx.env })
  assert.is(v.code, 1)
  const row = v.json<{ checks: { id: string; status: string; detail?: string }[] }>().checks.find(c => c.id === 'unpack-node:kj')
  assert.equal(row, { id: 'unpack-node:kj', status: 'drift', detail: 'modified: nodes.py' })
  const r = await w.cli(['realize', 'proof', '--repair'], { env: ctx.env })
  assert.is(r.code, 0, r.stderr)
  assert.is(readFileSync(join(kj, 'nodes.py'), 'utf8'), KJ_100['nodes.py'])
  assert.is(readFileSync(join(kj, 'mine.txt'), 'utf8'), 'mine\n')
  assert.is((await w.cli(['verify', 'proof'], { env: ctx.env })).code, 0)
})

// Last: it publishes a newer version, which changes what "latest" means for the tests before it.
C('validate --update moves a node whose version validate chose to the newest one; a version the user wrote stays', async ctx => {
  const { w, reg } = ctx
  await w.writeSpec('follow', spec(ctx, 'follow', [{ registry: 'comfyui-kjnodes' }, { registry: 'comfyui-kjnodes', name: 'kj-fixed', version: '1.0.0' }]))
  assert.is((await w.cli(['validate', 'follow'], { env: ctx.env })).code, 0)
  reg.publish('comfyui-kjnodes', '1.2.0', { ...KJ_110, '__init__.py': 'VERSION = "1.2.0"\n' })
  const plain = await w.cli(['validate', 'follow'], { env: ctx.env })
  assert.is(plain.code, 0, plain.stderr)
  const read = () => (JSON.parse(readFileSync(join(w.versions, 'follow.json'), 'utf8')) as { custom_nodes: { version: string; sha256: string }[] }).custom_nodes
  assert.is(read()[0]!.version, '1.1.0', 'without --update the pin stays')
  const updated = await w.cli(['validate', 'follow', '--update'], { env: ctx.env })
  assert.is(updated.code, 0, updated.stderr)
  assert.equal(read().map(n => n.version), ['1.2.0', '1.0.0'])
  assert.is(read()[0]!.sha256, sha256(readFileSync(join(w.dir, 'archives', 'comfyui-kjnodes-1.2.0.zip'))))
})

C.run()
