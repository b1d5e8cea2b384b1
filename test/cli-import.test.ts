import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeWorld, type World } from './helpers/cli.ts'
import { makeRepo, addCommit, type TestRepo } from './helpers/git-repos.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; core: TestRepo; a: TestRepo; b: TestRepo; srv: TestServer }
const S = suite<Ctx>('cli: imports keep what the user had')

S.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  const repos = join(ctx.w.dir, 'repos')
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print(1)\n' }], { branch: 'master' })
  ctx.a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }], { branch: 'main' })
  ctx.b = await makeRepo(repos, 'NodeB', [{ '__init__.py': 'b = 1\n' }], { branch: 'main' })
  // Both nodes move on after the snapshot: a pin that is lost would show as the newer commit.
  await addCommit(ctx.a, { '__init__.py': 'a = 2\n' })
  await addCommit(ctx.b, { '__init__.py': 'b = 2\n' })
  ctx.srv = await startServer({
    '/page/model.safetensors': { body: Buffer.from('<!DOCTYPE html>\n<html><body>Sign in to download</body></html>\n'), headers: { 'content-type': 'text/html; charset=utf-8' } },
    '/untyped/model.safetensors': { body: Buffer.from('  <html><head><title>Not a model</title></head></html>'), headers: { 'content-type': 'application/octet-stream' } },
  })
}))
S.after(guarded(async ctx => { await ctx.srv.close(); await ctx.w.cleanup() }))

const readSpec = async (w: World, id: string) => JSON.parse(await readFile(join(w.versions, `${id}.json`), 'utf8'))

S('a snapshot\'s "<sha>\\n" and short hashes stay the recorded commits through validate, which says where each came from', async ({ w, core, a, b }) => {
  const snapshot = join(w.dir, 'restored-snapshot.json')
  await writeFile(snapshot, JSON.stringify({
    comfyui: `${core.commits[0]}\n`,
    git_custom_nodes: { [a.url]: { hash: `${a.commits[0]}\n`, disabled: false }, [b.url]: { hash: b.commits[0]!.slice(0, 8), disabled: false } },
    cnr_custom_nodes: {}, file_custom_nodes: [], pips: {},
  }, null, 2))
  const created = await w.cli(['create', 'pins', '--repo', `${core.url}@master`, '--from-snapshot', snapshot])
  assert.is(created.code, 0, created.stderr)
  assert.match(created.stderr, /short commit hash in the snapshot, kept as their ref/)
  const spec = await readSpec(w, 'pins')
  assert.is(spec.comfyui.commit, core.commits[0])
  assert.equal(spec.custom_nodes, [{ repo: a.url, commit: a.commits[0], enabled: true }, { repo: b.url, ref: b.commits[0]!.slice(0, 8), enabled: true }])

  const v = await w.cli(['validate', 'pins'])
  assert.is(v.code, 0, v.stderr)
  const pinned = await readSpec(w, 'pins')
  assert.is(pinned.custom_nodes[0].commit, a.commits[0])
  assert.is(pinned.custom_nodes[1].commit, b.commits[0], 'the short hash names the first commit, not the branch tip')
  assert.match(v.stderr, new RegExp(`kept ComfyUI core: comfyui\\.commit = ${core.commits[0]} \\(pinned in the spec\\)`))
  assert.match(v.stderr, new RegExp(`kept NodeA: custom_nodes\\[0\\]\\.commit = ${a.commits[0]} \\(pinned in the spec\\)`))
  assert.match(v.stderr, new RegExp(`pinned NodeB: custom_nodes\\[1\\]\\.commit = ${b.commits[0]} \\(from the short hash ${b.commits[0]!.slice(0, 8)}, resolved against the repository\\)`))
})

S('a model URL that answers with a web page is refused by validate and by realize (by its content type, or its first bytes); nothing is pinned or stored', async ({ w, core, srv }) => {
  const page = `${srv.url}/page/model.safetensors`
  const untyped = `${srv.url}/untyped/model.safetensors`
  await w.writeSpec('page', { schema_version: 2, id: 'page', comfyui: { repo: core.url, ref: 'master' }, models: [{ path: 'checkpoints/page.safetensors', url: page }] })
  const v = await w.cli(['validate', 'page'])
  assert.is(v.code, 2, v.stderr)
  assert.match(v.stderr, /models\[0\]\.url/)
  assert.ok(v.stderr.includes(`${page} answered with a web page (Content-Type text/html; charset=utf-8), not a model file; nothing was pinned or stored. Use the file's direct download link`), v.stderr)
  assert.not.match(v.stderr, /\n\s+at /, 'no stack trace')
  assert.equal((await readSpec(w, 'page')).models, [{ path: 'checkpoints/page.safetensors', url: page }])

  // Labelled as a binary, so HEAD says nothing; its first bytes tell validate, and the download, what it is.
  await w.writeSpec('untyped', { schema_version: 2, id: 'untyped', comfyui: { repo: core.url, ref: 'master', commit: core.commits[0] }, models: [{ path: 'checkpoints/page.safetensors', url: untyped }] })
  const vu = await w.cli(['validate', 'untyped'])
  assert.is(vu.code, 2, vu.stderr)
  assert.ok(vu.stderr.includes(`${untyped} answered with a web page (its first bytes are an HTML document)`), vu.stderr)
  assert.equal((await readSpec(w, 'untyped')).models, [{ path: 'checkpoints/page.safetensors', url: untyped }], 'no size pinned')
  const r = await w.cli(['realize', 'untyped'])
  assert.is(r.code, 1, r.stderr)
  assert.ok(r.stderr.includes(`${untyped} answered with a web page (its first bytes are an HTML document)`), r.stderr)
  assert.not.ok(existsSync(join(w.home('untyped'), 'models', 'checkpoints', 'page.safetensors')), 'no model linked')
  assert.equal(readdirSync(join(w.cache, 'models')).filter(d => d === 'sha256' && readdirSync(join(w.cache, 'models', d)).length), [], 'no blob stored')
})

S('a YAML snapshot (cm-cli save-snapshot --output x.yaml) imports as its JSON twin does', async ({ w, core, a, b }) => {
  // As PyYAML's yaml.dump writes Manager's snapshot: wrapped in custom_nodes, keys sorted, a restored hash quoted.
  const yaml = join(w.dir, 'snapshot.yaml')
  await writeFile(yaml, [
    'custom_nodes:',
    '  cnr_custom_nodes:',
    '    comfyui-kjnodes: 1.1.0',
    `  comfyui: ${core.commits[0]}`,
    '  file_custom_nodes:',
    '  - disabled: false',
    '    filename: websocket_image_save.py',
    '  git_custom_nodes:',
    `    ${a.url}:`,
    '      disabled: false',
    `      hash: "${a.commits[0]}\\n"`,
    `    ${b.url}:`,
    '      disabled: true',
    `      hash: ${b.commits[0]}`,
    '  pips: {}',
    '',
  ].join('\n'))
  const r = await w.cli(['create', 'from-yaml', '--repo', `${core.url}@master`, '--from-snapshot', yaml])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stderr, /websocket_image_save\.py/)
  const spec = await readSpec(w, 'from-yaml')
  assert.is(spec.comfyui.commit, core.commits[0])
  assert.equal(spec.custom_nodes, [
    { repo: a.url, commit: a.commits[0], enabled: true },
    { repo: b.url, commit: b.commits[0], enabled: false },
    { registry: 'comfyui-kjnodes', version: '1.1.0' },
  ])
  await writeFile(yaml, 'custom_nodes:\n  git_custom_nodes: [unclosed\n')
  const bad = await w.cli(['create', 'bad-yaml', '--from-snapshot', yaml])
  assert.is(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /--from-snapshot .*snapshot\.yaml: not valid YAML/)
  assert.not.match(bad.stderr, /\n\s+at /)
})

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/importers/${name}`, import.meta.url))

for (const file of ['workflow-packs.json', 'workflow-packs.png', 'workflow-packs.webp']) {
  S(`create --workflow ${file}: the packs its nodes record (registry at their versions, git at their commits) and its models`, async ({ w }) => {
    const id = `wf-${file.split('.').pop()}`
    const r = await w.cli(['create', id, '--workflow', fixture(file)])
    assert.is(r.code, 0, r.stderr)
    const spec = await readSpec(w, id)
    assert.equal(spec.custom_nodes, [
      { registry: 'comfyui-impact-pack', version: '8.8.1' },
      { registry: 'comfyui-kjnodes', version: '1.1.0' },
      { repo: 'https://github.com/rgthree/rgthree-comfy', commit: '944d5353a1b0a668f40844018c3dc956b95a67d7' },
      { repo: 'https://github.com/someone/ComfyUI-Private-Nodes', ref: '5f3e2d1' },
      { registry: 'comfyui-videohelpersuite', version: '1.6.1' },
    ])
    assert.equal(spec.models, [
      { path: 'checkpoints/sd_xl_base_1.0.safetensors', url: 'https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors' },
      { path: 'upscale_models/4x-UltraSharp.pth', url: 'https://huggingface.co/lokCX/4x-Ultrasharp/resolve/main/4x-UltraSharp.pth' },
    ])
    assert.match(r.stderr, /warning: .*left out 1 node type\(s\) that name no pack .*: Text Concatenate; add their packs with --node/)
  })
}

S('create --from-snapshot with comfy-pack\'s snapshot.json writes its models too; a Desktop export pins the core it records', async ({ w }) => {
  const pack = await w.cli(['create', 'from-pack', '--from-snapshot', fixture('comfy-pack-snapshot.json')])
  assert.is(pack.code, 0, pack.stderr)
  const spec = await readSpec(w, 'from-pack')
  assert.is(spec.comfyui.commit, 'd9be2f4b4a0e3c5b1f0e6a7d8c9b0a1f2e3d4c5b')
  assert.equal(spec.models.map((m: { path: string }) => m.path), ['checkpoints/sd_xl_base_1.0.safetensors'])
  assert.match(pack.stderr, /left out models\[1\] \(models\/loras\/my-own-lora\.safetensors\): comfy-pack found no download URL/)
  assert.match(pack.stderr, /2 node\(s\), 1 model\(s\)/)

  const desktop = await w.cli(['create', 'from-desktop', '--from-snapshot', fixture('desktop-export.json')])
  assert.is(desktop.code, 0, desktop.stderr)
  const d = await readSpec(w, 'from-desktop')
  assert.is(d.comfyui.commit, 'fedcba9876543210fedcba9876543210fedcba98')
  assert.equal(d.custom_nodes.length, 3)
})

S('an image without a workflow, and a file with nothing usable, are refused (exit 2) naming the file', async ({ w }) => {
  const png = join(w.dir, 'stripped.png')
  const original = await readFile(fixture('workflow-packs.png'))
  // The same image with its workflow chunk renamed, as a metadata stripper leaves it.
  await writeFile(png, Buffer.from(original.toString('latin1').replace('tEXtworkflow', 'tEXtcomments'), 'latin1'))
  const r = await w.cli(['create', 'stripped', '--workflow', png])
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /stripped\.png: the PNG image holds no ComfyUI workflow \(only the API prompt, which names no node packs and no model URLs\)/)
  assert.not.match(r.stderr, /\n\s+at /)

  const list = join(w.dir, 'all-bad.json')
  await writeFile(list, JSON.stringify([{ url: 'https://civitai.com/models/4201/realistic-vision', path: 'checkpoints/rv.safetensors' }]))
  const bad = await w.cli(['create', 'all-bad', '--models', list])
  assert.is(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /all-bad\.json: entry \[0\]: https:\/\/civitai\.com\/models\/4201\/realistic-vision is a Civitai model page/)
  assert.not.ok(existsSync(join(w.versions, 'all-bad.json')))

  await writeFile(list, JSON.stringify([
    { url: 'https://civitai.com/models/4201/realistic-vision', path: 'checkpoints/rv.safetensors' },
    { url: 'https://example.com/good.safetensors', path: 'checkpoints/good.safetensors' },
  ]))
  const part = await w.cli(['create', 'some-bad', '--models', list])
  assert.is(part.code, 0, part.stderr)
  assert.match(part.stderr, /warning: .*all-bad\.json: left out entry \[0\]: https:\/\/civitai\.com\/models\/4201\/realistic-vision is a Civitai model page/)
  assert.equal((await readSpec(w, 'some-bad')).models, [{ path: 'checkpoints/good.safetensors', url: 'https://example.com/good.safetensors' }])
})

S.run()
