import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  defaultModelFolder, modelsFromFile, newSpec, nodesFromFile, parseRepoArg, serializeSpec, stripUrlCredentials,
  type ImportedModels, type ImportedNodes,
} from '../lib/spec/importers.ts'
import { parseSpecText } from '../lib/spec/parse-spec.ts'
import { isSecretQueryName, redact } from '../lib/util/redact.ts'
import type { Result } from '../lib/result.ts'

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`./fixtures/importers/${name}`, import.meta.url)), 'utf8'))

function value<T>(r: Result<T, string[]>): T {
  if (!r.ok) throw new Error(`expected success, got:\n${r.error.join('\n')}`)
  return r.value
}
function errors<T>(r: Result<T, string[]>): string[] {
  if (r.ok) throw new Error(`expected errors, got ${JSON.stringify(r.value)}`)
  return r.error
}

// ---------------------------------------------------------------------------------------------------------------
const Nodes = suite('nodesFromFile')

Nodes('a list of strings and objects, with url as an alias of repo', () => {
  const r: ImportedNodes = value(nodesFromFile([
    'https://github.com/ltdrdata/ComfyUI-Manager',
    'https://github.com/ltdrdata/ComfyUI-Impact-Pack@Main',
    'git@github.com:Kosinkadink/ComfyUI-VideoHelperSuite.git@v1.2',
    { url: 'https://github.com/kijai/ComfyUI-KJNodes', ref: 'main', install_script: true },
    { repo: 'https://github.com/rgthree/rgthree-comfy', commit: 'a'.repeat(40), name: 'rgthree', enabled: false },
  ]))
  assert.equal(r.nodes, [
    { repo: 'https://github.com/ltdrdata/ComfyUI-Manager' },
    { repo: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack', ref: 'Main' },
    { repo: 'git@github.com:Kosinkadink/ComfyUI-VideoHelperSuite.git', ref: 'v1.2' },
    { repo: 'https://github.com/kijai/ComfyUI-KJNodes', ref: 'main', install_script: true },
    { name: 'rgthree', repo: 'https://github.com/rgthree/rgthree-comfy', commit: 'a'.repeat(40), enabled: false },
  ])
  assert.equal(r.warnings, [])
  assert.is(r.comfyui, undefined)
})

Nodes('list entries: every problem is reported, naming the entry', () => {
  const e = errors(nodesFromFile([
    { ref: 'main' },
    42,
    { repo: 'https://github.com/a/b', comit: 'abc' },
    { repo: 'ftp://example.com/x' },
    { repo: 'https://github.com/a/c', commit: 'ABC' },
    { repo: 'https://github.com/a/d', url: 'https://github.com/a/e' },
    { repo: 'https://github.com/a/f', enabled: 'true' },
  ]))
  assert.equal(e, [
    'entry [0]: "repo" (or "url") is required',
    'entry [1]: expected an object or a "URL@REF" string, got number 42',
    'entry [2]: unknown key "comit" (allowed: repo or url, ref, commit, name, enabled, install_script)',
    'entry [3].repo: repo must be an https://, http://, ssh://, git@host:path or file:///absolute/path URL',
    'entry [4].commit: commit must be a full 40-character lowercase hex sha; a short hash goes in "ref" instead (validate resolves it to the full commit), or remove "commit" and let validate pin it',
    'entry [5]: both "repo" and "url" are set and differ; keep one',
    'entry [6].enabled: expected true or false, got string "true"',
  ])
})

Nodes('the same repository twice is kept once; two repositories with one folder name are both kept, with a warning', () => {
  const r = value(nodesFromFile([
    'https://github.com/ltdrdata/ComfyUI-Impact-Pack',
    'https://github.com/ltdrdata/ComfyUI-Impact-Pack.git@Main',
    'https://github.com/someone/ComfyUI-Impact-Pack',
  ]))
  assert.equal(r.nodes.map(n => 'repo' in n && n.repo), ['https://github.com/ltdrdata/ComfyUI-Impact-Pack', 'https://github.com/someone/ComfyUI-Impact-Pack'])
  assert.equal(r.warnings, [
    'node "ComfyUI-Impact-Pack" is listed more than once (https://github.com/ltdrdata/ComfyUI-Impact-Pack.git); kept the first entry',
    'nodes https://github.com/ltdrdata/ComfyUI-Impact-Pack and https://github.com/someone/ComfyUI-Impact-Pack would both be installed as custom_nodes/ComfyUI-Impact-Pack; set a distinct "name" on one of them',
  ])
})

Nodes('a ComfyUI-Manager snapshot: git nodes pinned, disabled kept disabled, registry nodes at their versions, the rest listed in one warning each', () => {
  const r = value(nodesFromFile(fixture('snapshot.json')))
  assert.equal(r.comfyui, { commit: '9d2a2ad4ffdbe5b2a5b70dcf0a2a3e8b1c4d5e6f' })
  assert.equal(r.nodes, [
    { repo: 'https://github.com/ltdrdata/ComfyUI-Manager', commit: '2d3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a', enabled: true },
    { repo: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack.git', commit: '0f1e2d3c4b5a69788796a5b4c3d2e1f001122334', enabled: false },
    { repo: 'https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite', commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', enabled: true },
    { registry: 'comfyui-kjnodes', version: '1.1.0' },
    { registry: 'rgthree-comfy', version: '1.0.0' },
  ])
  assert.is(r.nodes.length + (r.nightly?.length ?? 0), 5)
  assert.equal(r.warnings, [
    'left out 2 single-file custom node(s), which are not git repositories: websocket_image_save.py (disabled), my_helpers.py; put them in a git repository to pin them',
    'left out 2 pip package(s) recorded in the snapshot (node requirements are collected from the nodes themselves): torch==2.7.0+cu128, opencv-python-headless==4.11.0.86; add any you need to python.requirements',
  ])
})

Nodes('a snapshot with only git nodes gives no warnings; a missing hash or core commit is imported unpinned with a warning', () => {
  const clean = value(nodesFromFile({ comfyui: 'b'.repeat(40), git_custom_nodes: { 'https://github.com/a/x': { hash: 'c'.repeat(40), disabled: false } } }))
  assert.equal(clean.warnings, [])
  assert.equal(clean.nodes, [{ repo: 'https://github.com/a/x', commit: 'c'.repeat(40), enabled: true }])
  const loose = value(nodesFromFile({ comfyui: 'v0.3.40', git_custom_nodes: { 'https://github.com/a/x': { disabled: true } } }))
  assert.is(loose.comfyui, undefined)
  assert.equal(loose.nodes, [{ repo: 'https://github.com/a/x', enabled: false }])
  assert.equal(loose.warnings, [
    'the snapshot\'s "comfyui" value "v0.3.40" is not a full 40-character commit sha; the core is left unpinned (set comfyui.ref or run `validate`)',
    '1 git node(s) have no full commit sha in the snapshot and were imported unpinned (run `validate` to pin them): https://github.com/a/x',
  ])
})

Nodes('snapshot registry entries: "nightly" and "unknown" are left for the registry to name their repository, Manager\'s short versions are completed, a bad one warned of', () => {
  const r = value(nodesFromFile({ cnr_custom_nodes: { 'comfyui-gguf': 'nightly', 'my-pack': 'unknown', 'comfyui-essentials': '1.1', 'was-node-suite': 'main' } }))
  assert.equal(r.nightly, ['comfyui-gguf', 'my-pack'])
  assert.equal(r.nodes, [{ registry: 'comfyui-essentials', version: '1.1.0' }, { registry: 'was-node-suite' }])
  assert.equal(r.warnings, ['cnr_custom_nodes["was-node-suite"]: "main" is not a registry version (X.Y.Z); imported without a version, so validate pins the latest'])
  assert.equal(errors(nodesFromFile({ cnr_custom_nodes: { 'bad/id': '1.0.0', x: 3 } })), [
    'cnr_custom_nodes["bad/id"].registry: registry must be a Comfy Registry id: one segment of letters, digits, ".", "_" or "-" (no "/"), e.g. "comfyui-kjnodes"',
    'cnr_custom_nodes["x"]: expected a version string, got number 3',
  ])
})

Nodes('a malformed snapshot names what is wrong', () => {
  assert.equal(errors(nodesFromFile({ git_custom_nodes: { 'https://github.com/a/x': 'abc' }, pips: ['torch'] })), [
    'git_custom_nodes["https://github.com/a/x"]: expected an object {"hash", "disabled"}, got string "abc"',
    'pips: expected an object whose keys are pip requirement lines, got a list',
  ])
})

Nodes('an unknown shape is an error that says what was expected', () => {
  for (const input of [{ nodes: [] }, 'https://github.com/a/b', null]) {
    const [message, ...rest] = errors(nodesFromFile(input))
    assert.equal(rest, [])
    assert.match(message!, /^expected a JSON list of node entries .* or a ComfyUI-Manager snapshot \(an object with "git_custom_nodes"\), or a UI-format workflow .*; got /)
  }
  assert.match(errors(nodesFromFile({ nodes: [] }))[0]!, /got an object with keys "nodes"$/)
})

Nodes('credentials never reach the spec or a message', () => {
  const r = value(nodesFromFile(['https://ghp_SECRETTOKEN@github.com/me/private-node@main', { repo: 'ssh://git:hunter2@example.com/x.git' }]))
  assert.equal(r.nodes, [{ repo: 'https://github.com/me/private-node', ref: 'main' }, { repo: 'ssh://git@example.com/x.git' }])
  assert.is(r.warnings.length, 2)
  for (const w of r.warnings) assert.match(w, /removed credentials from the URL/)
  const e = errors(nodesFromFile([{ repo: 'https://user:hunter2@github.com/a/b', bogus: 1 }]))
  assert.not.match(e.join('\n'), /hunter2/)
  assert.not.match(JSON.stringify(r), /SECRETTOKEN|hunter2/)
})

// ---------------------------------------------------------------------------------------------------------------
const Models = suite('modelsFromFile')

Models('a list of {url, path}', () => {
  const r: ImportedModels = value(modelsFromFile([
    { url: 'https://example.com/a.safetensors', path: 'checkpoints/a.safetensors' },
    { url: 'file:///srv/models/b.pt', path: 'upscale_models/b.pt', sha256: 'D'.repeat(64), size: 12 },
  ]))
  assert.equal(r.models, [
    { path: 'checkpoints/a.safetensors', url: 'https://example.com/a.safetensors' },
    { path: 'upscale_models/b.pt', url: 'file:///srv/models/b.pt', sha256: 'd'.repeat(64), size: 12 },
  ])
  assert.equal(r.warnings, [])
})

Models('ComfyUI-Manager model-list.json: save_path "default" maps by type, subfolders kept, text sizes ignored', () => {
  const r = value(modelsFromFile(fixture('model-list.json')))
  assert.equal(r.models.map(m => m.path), [
    'checkpoints/sd_xl_base_1.0.safetensors',
    'vae/sdxl_vae.safetensors',
    'upscale_models/4x-UltraSharp.pth',
    'loras/pixel-art-xl.safetensors',
    'text_encoders/t5xxl_fp8_e4m3fn.safetensors',
    'diffusion_models/flux1-schnell.safetensors',
    'controlnet/SDXL/controlnet-canny-sdxl-1.0.safetensors',
    'ultralytics/bbox/face_yolov8m.pt',
    'etc/ip-adapter_sd15.safetensors',
  ])
  assert.equal(r.models[6], {
    path: 'controlnet/SDXL/controlnet-canny-sdxl-1.0.safetensors',
    url: 'https://huggingface.co/diffusers/controlnet-canny-sdxl-1.0/resolve/main/diffusion_pytorch_model.safetensors',
  })
  assert.ok(r.models.every(m => m.size === undefined), 'Manager sizes such as "6.94GB" are not byte counts')
  assert.equal(r.warnings, [])
})

Models('the default folder for each Manager type, case-insensitively', () => {
  const table: [string, string][] = [
    ['checkpoints', 'checkpoints'], ['Checkpoint', 'checkpoints'], ['unCLIP', 'checkpoints'], ['clip', 'text_encoders'],
    ['TEXT_ENCODERS', 'text_encoders'], ['VAE', 'vae'], ['lora', 'loras'], ['T2I-Adapter', 'controlnet'],
    ['t2i-style', 'controlnet'], ['ControlNet', 'controlnet'], ['clip_vision', 'clip_vision'], ['GLIGEN', 'gligen'],
    ['upscale', 'upscale_models'], ['embedding', 'embeddings'], ['embeddings', 'embeddings'], ['unet', 'diffusion_models'],
    ['diffusion_model', 'diffusion_models'], ['insightface', 'etc'], ['', 'etc'],
  ]
  for (const [type, folder] of table) assert.is(defaultModelFolder(type), folder, type)
})

Models('a UI workflow: top-level models and node properties.models; duplicates merged; blob links fixed', () => {
  const r = value(modelsFromFile(fixture('workflow-ui.json')))
  assert.equal(r.models, [
    {
      path: 'checkpoints/sd_xl_base_1.0.safetensors',
      url: 'https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors?download=true',
      sha256: '31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b',
    },
    { path: 'upscale_models/4x-UltraSharp.pth', url: 'https://huggingface.co/lokCX/4x-Ultrasharp/resolve/main/4x-UltraSharp.pth' },
    { path: 'vae/sdxl_vae.safetensors', url: 'https://huggingface.co/stabilityai/sdxl-vae/resolve/main/sdxl_vae.safetensors' },
  ])
  assert.equal(r.warnings, [
    'nodes[1].properties.models[0]: changed the page link https://huggingface.co/stabilityai/sdxl-vae/blob/main/sdxl_vae.safetensors to the file\'s download link: https://huggingface.co/stabilityai/sdxl-vae/resolve/main/sdxl_vae.safetensors',
    'model "checkpoints/sd_xl_base_1.0.safetensors" is listed more than once; kept one entry',
  ])
})

Models('a workflow\'s models list on its own, and {directory, filename} entries', () => {
  const r = value(modelsFromFile([
    { name: 'ae.safetensors', url: 'https://huggingface.co/x/y/resolve/main/ae.safetensors', directory: 'vae' },
    { filename: 'clip_l.safetensors', url: 'https://example.com/clip_l.safetensors', directory: 'text_encoders/flux' },
  ]))
  assert.equal(r.models.map(m => m.path), ['vae/ae.safetensors', 'text_encoders/flux/clip_l.safetensors'])
})

Models('duplicate paths with different URLs: the first is kept, with a warning', () => {
  const r = value(modelsFromFile([
    { url: 'https://a.example/x.safetensors', path: 'loras/x.safetensors' },
    { url: 'https://b.example/x.safetensors', path: 'loras/x.safetensors' },
  ]))
  assert.equal(r.models, [{ path: 'loras/x.safetensors', url: 'https://a.example/x.safetensors' }])
  assert.equal(r.warnings, ['model "loras/x.safetensors" is listed more than once with different URLs; kept https://a.example/x.safetensors and dropped https://b.example/x.safetensors'])
})

Models('refusals: unsafe filenames and folders, bad URLs, unknown shapes; every problem reported', () => {
  const url = 'https://example.com/m.bin'
  assert.equal(errors(modelsFromFile([
    { name: 'Evil', type: 'lora', save_path: 'default', filename: '../x.safetensors', url },
    { name: 'Evil2', type: 'lora', save_path: 'default', filename: 'C:x.safetensors', url },
    { name: 'Evil3', type: 'lora', save_path: 'default', filename: 'a\\b.safetensors', url },
    { name: 'Up', type: 'lora', save_path: '../../etc', filename: 'x.safetensors', url },
    { name: 'Abs', type: 'lora', save_path: '/etc', filename: 'x.safetensors', url },
    { name: 'w.safetensors', directory: 'loras/../..', url },
    { path: 'checkpoints/../x', url },
    { path: 'checkpoints/s3.bin', url: 's3://bucket/m.bin' },
    { url },
    { path: 'loras/y.bin' },
    'checkpoints/z.bin',
  ])), [
    'entry [0] ("Evil"): filename "../x.safetensors" must not contain "/", "\\" or ":"',
    'entry [1] ("Evil2"): filename "C:x.safetensors" must not contain "/", "\\" or ":"',
    'entry [2] ("Evil3"): filename "a\\b.safetensors" must not contain "/", "\\" or ":"',
    'entry [3] ("Up"): folder "../../etc" must stay inside models/ (no ".." and no leading "/")',
    'entry [4] ("Abs"): folder "/etc" must stay inside models/ (no ".." and no leading "/")',
    'entry [5] ("w.safetensors"): folder "loras/../.." must stay inside models/ (no ".." and no leading "/")',
    'entry [6]: path "checkpoints/../x" must not contain ".." (it would leave its folder)',
    'entry [7] (checkpoints/s3.bin): url must be an https://, http:// or file:///absolute/path URL',
    'entry [8]: expected "path", or "save_path" and "filename" (ComfyUI-Manager), or "directory" and "name" (workflow)',
    'entry [9]: "url" is required',
    'entry [10]: expected an object, got string "checkpoints/z.bin"',
  ])
  assert.match(errors(modelsFromFile({ checkpoints: [] }))[0]!, /^expected a JSON list of models .*; got an object with keys "checkpoints"$/)
  assert.equal(errors(modelsFromFile({ 3: { class_type: 'KSampler', inputs: {} }, 4: { class_type: 'CheckpointLoaderSimple', inputs: {} } })), [
    'this is an API-format workflow, which carries no model URLs; use the UI-format workflow (the one the editor saves) or a list of {"url", "path"}',
  ])
})

Models('page links: rewritten when the file URL follows from them, else left out with the URL to use', () => {
  const path = (n: string) => `checkpoints/${n}.safetensors`
  const r = value(modelsFromFile([
    { url: 'https://github.com/comfyanonymous/ComfyUI/blob/master/models/x.safetensors', path: path('gh-blob') },
    { url: 'https://hf.co/org/repo/resolve/main/y.safetensors', path: path('hf-short') },
    { url: 'https://civitai.com/models/4201/realistic-vision?modelVersionId=130072', path: path('civitai-version') },
    { url: 'https://civitai.com/models/4201/realistic-vision', path: path('civitai-page') },
    { url: 'https://huggingface.co/org/repo/tree/main/unet', path: path('hf-folder') },
    { url: 'https://huggingface.co/org/repo', path: path('hf-repo') },
    { url: 'https://drive.google.com/file/d/1AbCdEf/view?usp=sharing', path: path('drive') },
    { url: 'https://github.com/owner/repo', path: path('gh-repo') },
    { url: 'https://huggingface.co/gpt2/resolve/main/model.safetensors', path: path('hf-legacy') },
    { url: 'https://github.com/owner/repo/releases/download/v1/model.safetensors', path: path('gh-release') },
  ]))
  assert.equal(r.models, [
    { path: path('gh-blob'), url: 'https://raw.githubusercontent.com/comfyanonymous/ComfyUI/master/models/x.safetensors' },
    { path: path('hf-short'), url: 'https://huggingface.co/org/repo/resolve/main/y.safetensors' },
    { path: path('civitai-version'), url: 'https://civitai.com/api/download/models/130072' },
    { path: path('hf-legacy'), url: 'https://huggingface.co/gpt2/resolve/main/model.safetensors' },
    { path: path('gh-release'), url: 'https://github.com/owner/repo/releases/download/v1/model.safetensors' },
  ])
  const leftOut = r.warnings.filter(w => w.startsWith('left out'))
  assert.equal(leftOut.map(w => /^left out (entry \[\d\])/.exec(w)?.[1]), ['entry [3]', 'entry [4]', 'entry [5]', 'entry [6]', 'entry [7]'])
  assert.match(leftOut[0]!, /a Civitai model page, not a file; use the download link of one version: https:\/\/civitai\.com\/api\/download\/models\/<version id>/)
  assert.match(leftOut[1]!, /a Hugging Face folder page, not a file; use the link of one file in it: https:\/\/huggingface\.co\/org\/repo\/resolve\/<revision>/)
  assert.match(leftOut[3]!, /Google Drive link/)
})

Models('partial imports: bad entries are left out with a warning naming them; a space is encoded, a short hash dropped', () => {
  const r = value(modelsFromFile([
    { url: 'https://example.com/my model.safetensors', path: 'loras/a.safetensors' },
    { url: 'https://example.com/b.safetensors', directory: 'loras', name: 'b.safetensors', hash: 'ABCDEF0123', hash_type: 'SHA256' },
    { url: 'https://huggingface.co/org/whole-repo', save_path: 'default', filename: 'whole', type: 'checkpoint' },
    { path: 'loras/c.bin' },
  ]))
  assert.equal(r.models, [
    { path: 'loras/a.safetensors', url: 'https://example.com/my%20model.safetensors' },
    { path: 'loras/b.safetensors', url: 'https://example.com/b.safetensors' },
  ])
  assert.equal(r.warnings.filter(w => !w.startsWith('left out')), [
    'entry [0]: encoded the spaces in the URL: https://example.com/my%20model.safetensors',
    'entry [1]: left out the sha256 "ABCDEF0123", which is not 64 hex characters (validate or realize pins the real one)',
  ])
  assert.equal(r.warnings.filter(w => w.startsWith('left out')), [
    'left out entry [2]: https://huggingface.co/org/whole-repo is a Hugging Face repository page, not a file; use the link of one file in it: https://huggingface.co/org/whole-repo/resolve/<revision>/<path of the file>',
    'left out entry [3]: "url" is required',
  ])
})

Nodes('browser links: /tree/<ref> is the repository at that ref; .git, a trailing / and the owner\'s case make no second node; SSH kept as given', () => {
  const r = value(nodesFromFile([
    'https://github.com/kijai/ComfyUI-KJNodes/tree/develop',
    'https://github.com/KIJAI/ComfyUI-KJNodes.git',
    'https://github.com/ltdrdata/ComfyUI-Impact-Pack/',
    'https://gitlab.com/group/node/-/tree/v2.0',
    'git@github.com:ltdrdata/ComfyUI-Impact-Pack.git',
  ]))
  assert.equal(r.nodes, [
    { repo: 'https://github.com/kijai/ComfyUI-KJNodes', ref: 'develop' },
    { repo: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack' },
    { repo: 'https://gitlab.com/group/node', ref: 'v2.0' },
    { repo: 'git@github.com:ltdrdata/ComfyUI-Impact-Pack.git' },
  ])
  assert.equal(r.warnings, [
    'entry [0]: read the browser link https://github.com/kijai/ComfyUI-KJNodes/tree/develop as the repository https://github.com/kijai/ComfyUI-KJNodes at ref develop',
    'entry [3]: read the browser link https://gitlab.com/group/node/-/tree/v2.0 as the repository https://gitlab.com/group/node at ref v2.0',
    'node "ComfyUI-KJNodes" is listed more than once (https://github.com/KIJAI/ComfyUI-KJNodes.git); kept the first entry',
    'nodes https://github.com/ltdrdata/ComfyUI-Impact-Pack and git@github.com:ltdrdata/ComfyUI-Impact-Pack.git would both be installed as custom_nodes/ComfyUI-Impact-Pack; set a distinct "name" on one of them',
  ])
  assert.equal(errors(nodesFromFile([{ repo: 'https://github.com/a/b/tree/dev', ref: 'main' }])), ['entry [0]: the URL shows ref "dev" (…/tree/dev) but "ref" is "main"; keep one'])
})

Nodes('a comfy-pack snapshot: the core commit, git nodes at their commit_hash, and the models it found URLs for', () => {
  const r = value(nodesFromFile(fixture('comfy-pack-snapshot.json')))
  assert.equal(r.comfyui, { commit: 'd9be2f4b4a0e3c5b1f0e6a7d8c9b0a1f2e3d4c5b' })
  assert.equal(r.nodes, [
    { repo: 'https://github.com/bentoml/comfy-pack.git', commit: '5b4c3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b' },
    { repo: 'https://github.com/kijai/ComfyUI-KJNodes', commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', enabled: false },
  ])
  assert.equal(r.models, [{
    path: 'checkpoints/sd_xl_base_1.0.safetensors',
    url: 'https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors',
    sha256: '31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b', size: 6938078334,
  }])
  assert.equal(r.warnings, [
    'left out models[1] (models/loras/my-own-lora.safetensors): comfy-pack found no download URL for it; add it with its URL (a --models list)',
    'left out models[2] (models/vae/unused_vae.safetensors): not selected for the pack ("disabled": true)',
  ])
})

Nodes('a Comfy Desktop 2.0 export: the newest snapshot\'s core commit, registry and git nodes with their folders; file and remote-less nodes named', () => {
  const r = value(nodesFromFile(fixture('desktop-export.json')))
  assert.equal(r.comfyui, { commit: 'fedcba9876543210fedcba9876543210fedcba98' })
  assert.equal(r.nodes, [
    { registry: 'comfyui-impact-pack', version: '8.8.1', name: 'ComfyUI-Impact-Pack' },
    { registry: 'comfyui-kjnodes', version: '1.1.0', enabled: false },
    { repo: 'https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite.git', commit: '3c1d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d' },
  ])
  assert.equal(r.warnings, [
    'the export holds 2 snapshots; read the newest (snapshots[1], 2026-03-01T09:30:00.000Z, "works with flux")',
    'left out snapshots[1].customNodes[3] (my-local-pack): a folder with no git remote; add it with --node URL@REF',
    'left out snapshots[1].customNodes[4] (websocket_image_save.py): a single-file node, not a git repository; put it in one to pin it',
  ])
})

Models('legacy save_path custom_nodes/<pack>/...: left out with where Manager puts it, never placed under models/custom_nodes', () => {
  const r = value(modelsFromFile([
    { name: 'mm_sd_v14', type: 'animatediff', base: 'SD1.x', save_path: 'custom_nodes/ComfyUI-AnimateDiff-Evolved/models', filename: 'mm_sd_v14.ckpt', url: 'https://huggingface.co/guoyww/animatediff/resolve/main/mm_sd_v14.ckpt', size: '1.67GB' },
    { name: 'ok', type: 'lora', save_path: 'default', filename: 'ok.safetensors', url: 'https://example.com/ok.safetensors' },
  ]))
  assert.equal(r.models.map(m => m.path), ['loras/ok.safetensors'])
  assert.equal(r.warnings, ['left out entry [0] ("mm_sd_v14"): save_path "custom_nodes/ComfyUI-AnimateDiff-Evolved/models" is inside a custom node\'s folder, where ComfyUI-Manager places it; a spec places models under models/ only, so it was not imported: download it into ComfyUI/custom_nodes/ComfyUI-AnimateDiff-Evolved/models/ yourself, or ask the node\'s author for a models/ folder'])
})

Nodes('partial imports: a snapshot pack without a remote is left out, the rest imported', () => {
  const sha = 'b'.repeat(40)
  const r = value(nodesFromFile({ comfyui: null, git_custom_nodes: { null: { hash: sha, disabled: false }, 'https://github.com/a/good': { hash: `${sha}\n`, disabled: false } }, file_custom_nodes: [] }))
  assert.equal(r.nodes, [{ repo: 'https://github.com/a/good', commit: sha, enabled: true }])
  assert.equal(r.warnings, ['left out git_custom_nodes["null"].repo: repo must be an https://, http://, ssh://, git@host:path or file:///absolute/path URL'])
})

Models('model URLs lose their credentials, with a warning', () => {
  const r = value(modelsFromFile([{ url: 'https://civitai.com/api/download/models/12345?type=Model&token=abcd1234secret', path: 'loras/c.safetensors' }]))
  assert.equal(r.models, [{ path: 'loras/c.safetensors', url: 'https://civitai.com/api/download/models/12345?type=Model' }])
  assert.is(r.warnings.length, 1)
  assert.not.match(r.warnings[0]!, /abcd1234secret/)
})

Models('a presigned URL loses its signature and signing parameters, and the warning says what that means', () => {
  const r = value(modelsFromFile([
    { url: 'https://b.s3.amazonaws.com/m.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20250101&X-Amz-Date=20250101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tokSECRET&X-Amz-Signature=sigSECRET', path: 'loras/s3.bin' },
    { url: 'https://a.blob.core.windows.net/c/m.bin?sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=azSECRET', path: 'loras/az.bin' },
    { url: 'https://h.example/hq.bin?hf_token=hfqSECRET&download=true', path: 'loras/hq.bin' },
  ]))
  assert.equal(r.models.map(m => m.url), ['https://b.s3.amazonaws.com/m.bin', 'https://a.blob.core.windows.net/c/m.bin', 'https://h.example/hq.bin?download=true'])
  assert.match(r.warnings[0]!, /^entry \[0\]: removed the signature of a presigned URL .* works only if the file is public/)
  assert.match(r.warnings[1]!, /^entry \[1\]: removed the signature of a presigned URL/)
  assert.match(r.warnings[2]!, /^entry \[2\]: removed credentials from the URL/)
  assert.not.match(JSON.stringify(r), /SECRET/)
})

// ---------------------------------------------------------------------------------------------------------------
const Repo = suite('parseRepoArg and stripUrlCredentials')

Repo('splits URL@REF only at an @ inside the path', () => {
  const table: [string, { repo: string; ref?: string }][] = [
    ['https://github.com/a/b', { repo: 'https://github.com/a/b' }],
    ['https://github.com/a/b@main', { repo: 'https://github.com/a/b', ref: 'main' }],
    ['https://github.com/a/b.git@v1.2.3', { repo: 'https://github.com/a/b.git', ref: 'v1.2.3' }],
    ['https://github.com/a/b@feature/x', { repo: 'https://github.com/a/b', ref: 'feature/x' }],
    ['https://user@example.com/a/b', { repo: 'https://user@example.com/a/b' }],
    ['https://user@example.com/a/b@dev', { repo: 'https://user@example.com/a/b', ref: 'dev' }],
    ['git@github.com:a/b', { repo: 'git@github.com:a/b' }],
    ['git@github.com:a/b.git', { repo: 'git@github.com:a/b.git' }],
    ['git@github.com:a/b@v2', { repo: 'git@github.com:a/b', ref: 'v2' }],
    ['ssh://git@host/x', { repo: 'ssh://git@host/x' }],
    ['ssh://git@host/x@v1', { repo: 'ssh://git@host/x', ref: 'v1' }],
    ['ssh://git@host:2222/x.git@v1', { repo: 'ssh://git@host:2222/x.git', ref: 'v1' }],
    ['file:///tmp/repos/node', { repo: 'file:///tmp/repos/node' }],
    ['file:///tmp/repos/node@0123abc', { repo: 'file:///tmp/repos/node', ref: '0123abc' }],
    ['https://github.com/a/b@', { repo: 'https://github.com/a/b' }],
    ['  https://github.com/a/b@main  ', { repo: 'https://github.com/a/b', ref: 'main' }],
  ]
  for (const [arg, expected] of table) assert.equal(parseRepoArg(arg), expected, arg)
})

Repo('credentials are removed from URLs, nothing else changes', () => {
  const table: [string, string][] = [
    ['https://ghp_x@github.com/a/b', 'https://github.com/a/b'],
    ['https://user:pass@github.com/a/b', 'https://github.com/a/b'],
    ['ssh://git:pw@host/x', 'ssh://git@host/x'],
    ['https://h.example/f?token=abc&x=1#frag', 'https://h.example/f?x=1#frag'],
    ['https://h.example/f?api_key=abc', 'https://h.example/f'],
  ]
  for (const [input, url] of table) assert.equal(stripUrlCredentials(input), { url, removed: true, presigned: false }, input)
  for (const url of ['ssh://git@host/x', 'git@github.com:a/b', 'https://github.com/a/b@main', 'https://h.example/f?x=1&&y=', 'https://h.example/f?'])
    assert.equal(stripUrlCredentials(url), { url, removed: false, presigned: false }, url)
})

// Names that are credentials by their shape, in the spellings hosts use: redaction and the importer must agree.
const SECRET_NAMES = [
  'token', 'access_token', 'hf_token', 'hfToken', 'X-Amz-Security-Token', 'private-token', 'api_key', 'apikey', 'api-key',
  'X-API-KEY', 'apiKey', 'key', 'hf_key', 'access_key', 'AccessKey', 'AWSAccessKeyId', 'client_secret', 'password', 'passwd',
  'pwd', 'signature', 'sig', 'X-Amz-Signature', 'X-Goog-Signature', 'X-Amz-Credential', 'X-Goog-Credential', 'session',
  'sessionid', 'auth', 'authorization', 'oauth_nonce', 'jwt', 'X%2DAmz%2DSignature', 'hf%5Ftoken', 'TOKEN',
]
const PLAIN_NAMES = ['download', 'type', 'format', 'versionId', 'revision', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders',
  'sv', 'se', 'sp', 'author', 'author_id', 'keys_sorted_by', 'x']

Repo('a secret query parameter is one definition: redact() hides its value wherever text is shown, the importer drops it', () => {
  for (const name of SECRET_NAMES) {
    const url = `https://h.example/m.bin?x=1&${name}=VALUE123&y=2`
    assert.is(redact(`GET ${url} failed`), `GET https://h.example/m.bin?x=1&${name}=****&y=2 failed`, name)
    assert.is(redact(JSON.stringify({ url })), JSON.stringify({ url: `https://h.example/m.bin?x=1&${name}=****&y=2` }), name)
    assert.is(stripUrlCredentials(url).url, 'https://h.example/m.bin?x=1&y=2', name)
    assert.ok(isSecretQueryName(name), name)
  }
  for (const name of PLAIN_NAMES) {
    const url = `https://h.example/m.bin?${name}=VALUE123`
    assert.is(redact(url), url, name)
    assert.equal(stripUrlCredentials(url), { url, removed: false, presigned: false }, name)
  }
})

// ---------------------------------------------------------------------------------------------------------------
const Spec = suite('newSpec and serializeSpec')

Spec('a new spec has the contract key order, a trailing newline, and loads', () => {
  const spec = newSpec({
    id: 'imported',
    description: 'from a snapshot',
    comfyui: { commit: 'b'.repeat(40), repo: 'https://github.com/comfyanonymous/ComfyUI', ref: undefined },
    nodes: [{ enabled: false, commit: 'c'.repeat(40), repo: 'https://github.com/a/x', name: 'x' }],
    models: [{ url: 'https://example.com/m.safetensors', path: 'checkpoints/m.safetensors' }],
  })
  const text = serializeSpec(spec)
  assert.is(text, `{
  "$schema": "../docs/version.schema.json",
  "schema_version": 2,
  "id": "imported",
  "description": "from a snapshot",
  "comfyui": {
    "repo": "https://github.com/comfyanonymous/ComfyUI",
    "commit": "${'b'.repeat(40)}"
  },
  "custom_nodes": [
    {
      "name": "x",
      "repo": "https://github.com/a/x",
      "commit": "${'c'.repeat(40)}",
      "enabled": false
    }
  ],
  "models": [
    {
      "path": "checkpoints/m.safetensors",
      "url": "https://example.com/m.safetensors"
    }
  ]
}
`)
  const loaded = parseSpecText(text, 'versions/imported.json', 'imported')
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.error))
})

Spec('imports feed newSpec: a snapshot and a model list become a valid spec', () => {
  const nodes = value(nodesFromFile(fixture('snapshot.json')))
  const models = value(modelsFromFile(fixture('model-list.json')))
  const spec = newSpec({ id: 'from-snapshot', comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI', ...nodes.comfyui }, nodes: nodes.nodes, models: models.models })
  const loaded = parseSpecText(serializeSpec(spec), 'versions/from-snapshot.json', 'from-snapshot')
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.error))
  if (loaded.ok) {
    assert.is(loaded.value.spec.comfyui.commit, '9d2a2ad4ffdbe5b2a5b70dcf0a2a3e8b1c4d5e6f')
    assert.equal(loaded.value.spec.custom_nodes.map(n => n.enabled), [true, false, true, true, true])
    assert.equal(loaded.value.spec.custom_nodes.map(n => 'registry' in n ? `${n.registry}@${n.version}` : 'git').slice(3), ['comfyui-kjnodes@1.1.0', 'rgthree-comfy@1.0.0'])
    assert.is(loaded.value.spec.models.length, 9)
  }
})

Spec('serializeSpec puts keys of a hand-built spec in order and keeps python and launch', () => {
  const text = serializeSpec({ launch: { env: {}, port: 1 }, comfyui: { repo: 'https://x.example/c' }, id: 'o', schema_version: 2, python: { on_conflict: 'fail', version: '3.11' } })
  assert.equal(Object.keys(JSON.parse(text)), ['schema_version', 'id', 'comfyui', 'python', 'launch'])
  assert.equal(Object.keys(JSON.parse(text).python), ['version', 'on_conflict'])
  assert.equal(Object.keys(JSON.parse(text).launch), ['port', 'env'])
  assert.ok(text.endsWith('}\n') && !text.endsWith('\n\n'))
})

Nodes.run()
Models.run()
Repo.run()
Spec.run()
