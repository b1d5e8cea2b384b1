import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, addCommit, type TestRepo } from './helpers/git-repos.ts'
import { startServer, type Route, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; core: TestRepo; a: TestRepo; b: TestRepo; srv: TestServer }
const S = suite<Ctx>('cli: create, validate, clone, delete, list, config')

S.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print(1)\n' }], { branch: 'master' })
  ctx.a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }], { branch: 'main', tags: { 'v1.0': 0 } })
  ctx.b = await makeRepo(repos, 'NodeB', [{ '__init__.py': 'b = 1\n' }], { branch: 'main' })
  await addCommit(ctx.a, { '__init__.py': 'a = 2\n' })
  const body = Buffer.from('model bytes '.repeat(1000))
  const sha = createHash('sha256').update(body).digest('hex')
  ctx.srv = await startServer({
    '/hf/model.safetensors': { body, linkedEtag: `"${sha}"`, linkedSize: body.length, etag: '"abc"' },
    '/plain/model.bin': { body, etag: '"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"' },
  })
}))
S.after(guarded(async ctx => { await ctx.srv.close(); await ctx.w.cleanup() }))

S('create from a ComfyUI-Manager snapshot pins its git nodes, keeps its registry nodes and warns about what it cannot pin', async ({ w, core, a, b }) => {
  const snapshot = join(w.dir, 'snapshot.json')
  await writeFile(snapshot, JSON.stringify({
    comfyui: core.commits[0],
    git_custom_nodes: { [a.url]: { hash: a.commits[0], disabled: false }, [b.url]: { hash: b.commits[0], disabled: true } },
    cnr_custom_nodes: { 'comfyui-kjnodes': '1.0.5' },
    file_custom_nodes: [{ filename: 'my_node.py', disabled: false }],
    pips: { 'numpy==1.26.4': '' },
  }))
  const r = await w.cli(['create', 'snap', '--repo', `${core.url}@master`, '--from-snapshot', snapshot, '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /my_node\.py/)
  assert.match(r.stderr, /numpy==1\.26\.4/)
  const spec = JSON.parse(await readFile(join(w.versions, 'snap.json'), 'utf8'))
  // The path from the spec's folder, wherever it is: an editor opening it there finds the schema.
  assert.ok(existsSync(join(w.versions, spec.$schema)), spec.$schema)
  assert.is(spec.comfyui.commit, core.commits[0])
  assert.equal(spec.custom_nodes.map((n: { commit?: string; registry?: string; version?: string; enabled?: boolean }) => n.registry ? [n.registry, n.version] : [n.commit, n.enabled]),
    [[a.commits[0], true], [b.commits[0], false], ['comfyui-kjnodes', '1.0.5']])
  const again = await w.cli(['create', 'snap', '--repo', core.url])
  assert.is(again.code, 2)
  assert.match(again.stderr, /already exists; pass --force/)

  // --nodes takes the snapshot's nodes only: the core stays at the ref --repo gives.
  const nodesOnly = await w.cli(['create', 'snap-nodes', '--repo', `${core.url}@master`, '--nodes', snapshot])
  assert.is(nodesOnly.code, 0, nodesOnly.stderr)
  assert.match(nodesOnly.stderr, /the snapshot's ComfyUI commit \w{10} is not used \(--from-snapshot .* pins the core to it\)/)
  const nodesSpec = JSON.parse(await readFile(join(w.versions, 'snap-nodes.json'), 'utf8'))
  assert.equal(nodesSpec.comfyui, { repo: core.url, ref: 'master' })
  assert.is(nodesSpec.custom_nodes.length, 3)
})

S('validate resolves refs through the mirrors and writes the commits in place, formatting kept', async ({ w, core, a, b }) => {
  const text = `{
  "schema_version": 2,
  "id": "v1",
  "comfyui": {"repo": "${core.url}", "ref": "master"},
  "custom_nodes": [
    { "repo": "${a.url}", "ref": "v1.0" },
    { "repo": "${b.url}", "ref": "main" }
  ]
}
`
  await w.writeSpec('v1', text)
  const r = await w.cli(['validate', 'v1', '--json'])
  assert.is(r.code, 0, r.stderr)
  const after = await readFile(join(w.versions, 'v1.json'), 'utf8')
  const expected = text
    .replace(`"ref": "master"}`, `"ref": "master", "commit": "${core.commits[0]}"}`)
    .replace(`"ref": "v1.0" }`, `"ref": "v1.0", "commit": "${a.commits[0]}" }`)
    .replace(`"ref": "main" }`, `"ref": "main", "commit": "${b.commits[0]}" }`)
  assert.fixture(after, expected)
  const out = r.json()
  assert.is(out.written, true)
  assert.ok(existsSync(out.lock), 'the resolved lock is in the cache')
  const lock = JSON.parse(await readFile(out.lock, 'utf8'))
  assert.is(lock.custom_nodes[0].commit, a.commits[0])
  const check = await w.cli(['validate', 'v1', '--check'])
  assert.is(check.code, 0, check.stderr)
  // --update follows the tag/branch again; v1.0 still points at the first commit, main of NodeA moved.
  const again = await w.cli(['validate', 'v1'])
  assert.is(again.code, 0)
  assert.match(again.stderr, /nothing to change/)
})

S('validate --check exits 1 and writes nothing when something is unpinned', async ({ w, core }) => {
  const text = JSON.stringify({ schema_version: 2, id: 'loose', comfyui: { repo: core.url } }, null, 2)
  await w.writeSpec('loose', text)
  const r = await w.cli(['validate', 'loose', '--check'])
  assert.is(r.code, 1)
  assert.match(r.stderr, /comfyui\.commit/)
  assert.is(await readFile(join(w.versions, 'loose.json'), 'utf8'), text)
})

S('a ref that does not exist names the node and the ref, exit 2', async ({ w, core, a }) => {
  await w.writeSpec('badref', { schema_version: 2, id: 'badref', comfyui: { repo: core.url, ref: 'master' }, custom_nodes: [{ repo: a.url, ref: 'no-such-branch' }] })
  const r = await w.cli(['validate', 'badref'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /custom_nodes\[0\]\.ref: NodeA: .*no-such-branch/)
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace')
})

S('validate pins models from HEAD metadata (and the first bytes), never downloading a body', async ({ w, core, srv }) => {
  await w.writeSpec('models', {
    schema_version: 2, id: 'models', comfyui: { repo: core.url, commit: core.commits[0] },
    models: [
      { path: 'checkpoints/hf.safetensors', url: `${srv.url}/hf/model.safetensors` },
      { path: 'checkpoints/plain.bin', url: `${srv.url}/plain/model.bin` },
    ],
  })
  const r = await w.cli(['validate', 'models', '--json'])
  assert.is(r.code, 0, r.stderr)
  const spec = JSON.parse(await readFile(join(w.versions, 'models.json'), 'utf8'))
  const body = Buffer.from('model bytes '.repeat(1000))
  assert.is(spec.models[0].sha256, createHash('sha256').update(body).digest('hex'))
  assert.is(spec.models[0].size, body.length)
  assert.is(spec.models[1].sha256, undefined, 'an ordinary ETag is not a sha256')
  assert.is(spec.models[1].size, body.length)
  assert.match(r.stderr, /not pinned: checkpoints\/plain\.bin/)
  // Besides HEAD, the first 512 bytes of a file whose host publishes no sha256 (a page labelled as a binary): never the body.
  assert.ok(srv.requests.every(q => q.method === 'HEAD' || (q.method === 'GET' && q.headers.range === 'bytes=0-511')), `only HEAD and first-bytes requests: ${srv.requests.map(q => `${q.method} ${q.headers.range ?? ''}`).join(',')}`)
})

S('validate: a host that refuses HEAD or never answers it is a note, not a failure; 401/403 notes name the token', async ({ w, core, srv }) => {
  const body = Buffer.from('weights '.repeat(500))
  // GET works everywhere; HEAD is refused (405, or 403 as a presigned S3 GET URL answers it) or never answered.
  const headOnly = (answer: (res: ServerResponse) => void): Route => ({
    handler: (req, res) => (req.method === 'HEAD' ? answer(res) : res.writeHead(200, { 'content-length': String(body.length) }).end(body)),
  })
  srv.routes['/h405.bin'] = headOnly(res => res.writeHead(405).end())
  srv.routes['/h403.bin'] = headOnly(res => res.writeHead(403).end())
  srv.routes['/hang.bin'] = headOnly(() => {})
  srv.routes['/h401.bin'] = headOnly(res => res.writeHead(401).end())
  const cwd = join(w.dir, 'head-cwd')
  mkdirSync(cwd, { recursive: true })
  await writeFile(join(cwd, 'cache.config.ts'), `export default { auth: [{ host: '127.0.0.1', env: 'HF_TOKEN' }], timeouts: { download_headers_s: 1 } }\n`)
  await w.writeSpec('heads', {
    schema_version: 2, id: 'heads', comfyui: { repo: core.url, commit: core.commits[0] },
    models: [
      { path: 'x/h405.bin', url: `${srv.url}/h405.bin` },
      { path: 'x/h403.bin', url: `${srv.url}/h403.bin` },
      { path: 'x/hang.bin', url: `${srv.url}/hang.bin` },
      { path: 'x/pinned.bin', url: `${srv.url}/h401.bin`, sha256: createHash('sha256').update(body).digest('hex') },
    ],
  })
  const r = await w.cli(['validate', 'heads', '--json'], { cwd })
  assert.is(r.code, 0, r.stderr)
  const out = r.json<{ ok: boolean; unpinned: { path: string; problem: string }[]; notes: string[]; errors: string[] }>()
  assert.ok(out.ok)
  assert.equal(out.errors, [])
  const problem = (path: string) => out.unpinned.find(u => u.path === path)?.problem ?? ''
  assert.match(problem('models[0].sha256'), /^the host did not answer HEAD \(405 from 127\.0\.0\.1:\d+\); its sha256 is taken when realize downloads it/)
  assert.match(problem('models[1].sha256'), /^the host did not answer HEAD \(403 from 127\.0\.0\.1:\d+: HF_TOKEN is not set/)
  assert.match(problem('models[2].sha256'), /^the host did not answer HEAD \(timed out\)/)
  assert.is(out.notes.length, 1)
  assert.match(out.notes[0]!, /^x\/pinned\.bin: the host did not answer HEAD \(401 from .*HF_TOKEN is not set/)
  assert.match(r.stderr, /not pinned: x\/h405\.bin: the host did not answer HEAD \(405/)
  assert.match(r.stderr, /note: x\/pinned\.bin: .*HF_TOKEN is not set/)
  assert.not.match(r.stderr, /^error:/m)
})

S('validate: a model URL that names nothing (404, 410, a missing file) is a spec error, exit 2, nothing written', async ({ w, core, srv }) => {
  srv.routes['/gone.bin'] = { status: 410, body: Buffer.from('gone') }
  const missing = join(w.dir, 'volume', 'no-such.safetensors')
  const folder = join(w.dir, 'volume')
  mkdirSync(folder, { recursive: true })
  const text = JSON.stringify({
    schema_version: 2, id: 'nothing', comfyui: { repo: core.url, ref: 'master' },
    models: [
      { path: 'x/404.bin', url: `${srv.url}/no-such-route.bin` },
      { path: 'x/410.bin', url: `${srv.url}/gone.bin` },
      { path: 'x/missing.bin', url: pathToFileURL(missing).href },
      { path: 'x/folder.bin', url: pathToFileURL(folder).href },
    ],
  }, null, 2)
  await w.writeSpec('nothing', text)
  const r = await w.cli(['validate', 'nothing'])
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /models\[0\]\.url: x\/404\.bin: 404 from 127\.0\.0\.1:\d+: not found/)
  assert.match(r.stderr, /models\[1\]\.url: x\/410\.bin: 410 from/)
  assert.ok(r.stderr.includes(`models[2].url: x/missing.bin: ${missing} does not exist`), r.stderr)
  assert.ok(r.stderr.includes(`models[3].url: x/folder.bin: ${folder} is a folder`), r.stderr)
  assert.not.match(r.stderr, /hashed into the store when realized/)
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace')
  assert.is(await readFile(join(w.versions, 'nothing.json'), 'utf8'), text, 'nothing written, the core commit neither')
})

S('a spec broken on purpose lists every problem with its path, exit 2, no stack trace', async ({ w }) => {
  await w.writeSpec('broken', `{
  "schema_version": 2,
  "id": "other",
  "comfyui": { "repo": "ftp://example.com/x" },
  "custom_nodes": [ { "repo": "https://github.com/a/Same" }, { "repo": "https://github.com/b/Same", "bogus": 1 } ],
  "models": [ { "path": "../escape.bin", "url": "https://example.com/x", "sha256": "XYZ" } ]
}
`)
  const r = await w.cli(['realize', 'broken'])
  assert.is(r.code, 2)
  const lines = r.stderr.trim().split('\n')
  for (const path of ['comfyui.repo', 'custom_nodes[1].bogus', 'models[0].path', 'models[0].sha256', 'id', 'custom_nodes[1].repo']) {
    assert.ok(lines.some(l => l.startsWith(`versions/broken.json: ${path}: `)), `a line for ${path} in:\n${r.stderr}`)
  }
  assert.not.match(r.stderr, /\n\s+at /)
  assert.not.ok(existsSync(w.home('broken')), 'nothing was changed')
})

S('clone copies under a new id; list shows versions; delete never touches a folder it did not create', async ({ w, core }) => {
  await w.writeSpec('orig', { schema_version: 2, id: 'orig', comfyui: { repo: core.url, commit: core.commits[0] } })
  const c = await w.cli(['clone', 'orig', 'copy'])
  assert.is(c.code, 0, c.stderr)
  assert.is(JSON.parse(await readFile(join(w.versions, 'copy.json'), 'utf8')).id, 'copy')
  const again = await w.cli(['clone', 'orig', 'copy', '--json'])
  assert.is(again.code, 2)
  assert.equal(again.json(), { ok: false, version: 'copy', errors: [again.stderr.trim()] })
  assert.match(again.stderr, /copy\.json already exists; pass --force to overwrite it/)
  const l = await w.cli(['list', '--json'])
  const rows = l.json().versions as { id: string; pinned: boolean }[]
  assert.equal(rows.find(r => r.id === 'copy'), { ...rows.find(r => r.id === 'copy')!, pinned: true })
  mkdirSync(join(w.home('copy'), 'mine'), { recursive: true })
  const d = await w.cli(['delete', 'copy', '--remove-spec'])
  assert.is(d.code, 2)
  assert.match(d.stderr, /not created by comfy-vc/)
  assert.ok(existsSync(join(w.home('copy'), 'mine')))
  assert.ok(existsSync(join(w.versions, 'copy.json')), 'nothing deleted on refusal')
})

S('config shows each value and where it came from', async ({ w }) => {
  await writeFile(join(w.dir, 'cache.config.ts'), `export default { models_dir: './store', link_mode: 'copy', registry_url: 'http://127.0.0.1:1/cnr/' }\n`)
  const r = await w.cli(['config', '--json', '--cache-root', join(w.dir, 'flagcache')])
  assert.is(r.code, 0, r.stderr)
  const out = r.json()
  assert.is(out.values.cacheRoot, join(w.dir, 'flagcache')); assert.is(out.sources.cacheRoot, 'flag')
  assert.is(out.values.versionsDir, w.versions); assert.is(out.sources.versionsDir, 'env')
  assert.is(out.values.modelsDir, join(w.dir, 'store')); assert.is(out.sources.modelsDir, 'config')
  assert.is(out.values.linkMode, 'copy')
  assert.is(out.values.registryUrl, 'http://127.0.0.1:1/cnr'); assert.is(out.sources.registryUrl, 'config')
  const fromEnv = await w.cli(['config', '--json'], { env: { COMFY_REGISTRY_URL: 'https://registry.example' } })
  assert.is(fromEnv.json().values.registryUrl, 'https://registry.example'); assert.is(fromEnv.json().sources.registryUrl, 'env')
  const badUrl = await w.cli(['config'], { env: { COMFY_REGISTRY_URL: 'registry.example' } })
  assert.is(badUrl.code, 2)
  assert.match(badUrl.stderr, /environment: COMFY_REGISTRY_URL: expected the Comfy Registry API's http\(s\) URL/)
  await writeFile(join(w.dir, 'cache.config.ts'), `export default { link_mode: 'zip' }\n`)
  const bad = await w.cli(['config'])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, /cache\.config\.ts: link_mode: /)
  await rm(join(w.dir, 'cache.config.ts'))
})

S('create: a node named by --node and by a --nodes list is kept once; two repositories for one folder write nothing', async ({ w }) => {
  const list = join(w.dir, 'nodes-dup.json')
  await writeFile(list, JSON.stringify([{ repo: 'https://github.com/a/NodeX' }, { repo: 'https://github.com/b/NodeY' }]))
  const r = await w.cli(['create', 'dup', '--node', 'https://github.com/a/NodeX@main', '--nodes', list])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /node "NodeX" is listed more than once/)
  const spec = JSON.parse(await readFile(join(w.versions, 'dup.json'), 'utf8'))
  assert.equal(spec.custom_nodes.map((n: { repo: string }) => n.repo), ['https://github.com/a/NodeX', 'https://github.com/b/NodeY'])
  const clash = await w.cli(['create', 'clash', '--node', 'https://github.com/other/NodeY', '--nodes', list])
  assert.is(clash.code, 2)
  assert.match(clash.stderr, /would both be installed as custom_nodes\/NodeY/)
  assert.match(clash.stderr, /nothing was written to .*clash\.json/)
  assert.not.ok(existsSync(join(w.versions, 'clash.json')))
})

S('a broken cache.config.ts or environment is a config error (exit 2) naming what to fix, never a stack', async ({ w, core }) => {
  await w.writeSpec('cfg', { schema_version: 2, id: 'cfg', comfyui: { repo: core.url, commit: core.commits[0] } })
  const config = join(w.dir, 'cache.config.ts')
  const cases: [string, RegExp][] = [
    ['export const x = 1\n', /cache\.config\.ts: \(root\): has no default export; write `export default defineConfig/],
    ['export default {\n', /cache\.config\.ts: \(root\): cannot load: .*cache\.config\.ts:\d+:\d+: ERROR: /],
    ['export default null\n', /cache\.config\.ts: \(root\): /],
    [`export default { plugins: [{ kind: 'mine', resource: 'none', tasks() { throw new Error('boom') }, outputsStand: async () => true, run: async () => ({ outputs: null }) }] }\n`,
      /plugins: plugin "mine": tasks\(\) threw: boom/],
    [`export default { plugins: [{ kind: 'link', resource: 'none', tasks: () => [], outputsStand: async () => true, run: async () => ({ outputs: null }) }] }\n`,
      /two plugins have the kind "link" \(a built-in kind cannot be replaced\)/],
    [`export default { plugins: [{ kind: 'mine', resource: 'none', tasks: () => [{ id: 'mine', kind: 'mine', inputs: {} }], outputsStand: async () => true, run: async () => ({ outputs: null }) }] }\n`,
      /plugin "mine": task mine: "deps" must be a list of task ids/],
  ]
  try {
    for (const [text, message] of cases) {
      await writeFile(config, text)
      const r = await w.cli(['plan', 'cfg', '--json'])
      assert.is(r.code, 2, `${text}\n${r.stderr}`)
      assert.match(r.stderr, message)
      assert.not.match(r.stderr, /internal error|\n\s+at /)
      assert.is(r.json().ok, false)
    }
  } finally {
    await rm(config, { force: true })
  }
  const banana = await w.cli(['plan', 'cfg'], { env: { COMFY_OFFLINE: 'banana' } })
  assert.is(banana.code, 2)
  assert.match(banana.stderr, /COMFY_OFFLINE: expected 1 or 0/)
  const off = await w.cli(['config', '--json'], { env: { COMFY_OFFLINE: 'off' } })
  assert.is(off.json().values.offline, false)
  const empty = await w.cli(['plan', 'cfg', '--cache-root', ''])
  assert.is(empty.code, 2)
  assert.match(empty.stderr, /--cache-root: is empty/)
})

S('a location that cannot be used (a file where a folder should be) is named, exit 2, no stack', async ({ w, core }) => {
  await w.writeSpec('loc', { schema_version: 2, id: 'loc', comfyui: { repo: core.url, commit: core.commits[0] } })
  const file = join(w.dir, 'a-file')
  await writeFile(file, 'not a folder\n')
  const direct = await w.cli(['realize', 'loc'], { env: { COMFY_CACHE_ROOT: file } })
  assert.is(direct.code, 2, direct.stderr)
  assert.match(direct.stderr, /COMFY_CACHE_ROOT: .*a-file exists and is not a folder/)
  const r = await w.cli(['realize', 'loc', '--json'], { env: { COMFY_CACHE_ROOT: join(file, 'cache') } })
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /cannot mkdir .*a-file.*: it, or a folder above it, is a file; check that path/)
  assert.not.match(r.stderr, /internal error|\n\s+at /)
  assert.match(r.json().errors[0], /cannot mkdir/)
})

S('usage errors exit 2 with a hint', async ({ w }) => {
  const r = await w.cli(['realize'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /missing <id>/)
  const u = await w.cli(['frobnicate'])
  assert.is(u.code, 2)
  assert.match(u.stderr, /unknown command "frobnicate"/)
  assert.is(u.stdout, '')
  // With --json, an unknown command, a flag where the command should be, and a bad --id are documents too.
  assert.equal((await w.cli(['frobnicate', '--json'])).json(), { ok: false, errors: ['unknown command "frobnicate"'] })
  assert.equal((await w.cli(['--json'])).json(), { ok: false, errors: ['a command comes first, before "--json"'] })
  const emptyRef = await w.cli(['create', 'x1', '--repo', 'https://github.com/comfyanonymous/ComfyUI@'])
  assert.is(emptyRef.code, 2)
  assert.match(emptyRef.stderr, /--repo https:\/\/github\.com\/comfyanonymous\/ComfyUI@: nothing after "@"/)
  assert.not.ok(existsSync(join(w.versions, 'x1.json')))
  const badId = await w.cli(['config', '--id', 'BAD', '--json'])
  assert.is(badId.code, 2)
  assert.match(badId.json().errors[0], /--id "BAD" is not a valid version id/)
  const json = await w.cli(['realize', '--jobs', '0', '--json'])
  assert.is(json.code, 2)
  assert.equal(json.json(), { ok: false, errors: ['missing <id>'] }, 'with --json, the mistake is a JSON document too')
  const h = await w.cli(['validate', '--help'])
  assert.is(h.code, 0)
  assert.match(h.stdout, /--update/)
})

S.run()
