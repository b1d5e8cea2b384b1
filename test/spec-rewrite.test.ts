import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { applyPins, renameId, type Pins } from '../lib/spec/rewrite.ts'
import { parseSpecText } from '../lib/spec/parse-spec.ts'

const C1 = '1'.repeat(40), C2 = '2'.repeat(40), C3 = '3'.repeat(40), C4 = '4'.repeat(40), OLD = 'f'.repeat(40)
const S1 = 'a'.repeat(64), S2 = 'b'.repeat(64), S3 = 'c'.repeat(64), SOLD = 'e'.repeat(64)

/** Unpinned spec, keys in the order a user wrote them. */
const before = {
  $schema: '../docs/version.schema.json',
  schema_version: 2,
  id: 'pins',
  description: 'caf\u00e9',
  comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI', ref: 'master' },
  custom_nodes: [
    { repo: 'https://github.com/ltdrdata/ComfyUI-Manager', ref: 'main', enabled: true },
    { name: 'impact', repo: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack', ref: 'Main', commit: OLD },
    { repo: 'https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite', install_script: false },
  ],
  models: [
    { path: 'checkpoints/a.safetensors', url: 'https://example.com/a.safetensors' },
    { path: 'vae/b.safetensors', url: 'https://example.com/b.safetensors', sha256: SOLD, size: 1 },
    { path: 'loras/c.safetensors', url: 'https://example.com/c.safetensors', size: 3 },
  ],
  python: { version: '3.11' },
}

const pins: Pins = {
  comfyui: { commit: C1 },
  nodes: [{ index: 0, commit: C2 }, { index: 1, commit: C3 }, { index: 2, commit: C4 }],
  models: [{ index: 0, sha256: S1, size: 100 }, { index: 1, sha256: S2, size: 200 }, { index: 2, sha256: S3 }],
}

/** The same spec pinned: each new key sits right after ref (or repo) / url, existing ones keep their place. */
const after = {
  ...before,
  comfyui: { ...before.comfyui, commit: C1 },
  custom_nodes: [
    { repo: 'https://github.com/ltdrdata/ComfyUI-Manager', ref: 'main', commit: C2, enabled: true },
    { name: 'impact', repo: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack', ref: 'Main', commit: C3 },
    { repo: 'https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite', commit: C4, install_script: false },
  ],
  models: [
    { path: 'checkpoints/a.safetensors', url: 'https://example.com/a.safetensors', sha256: S1, size: 100 },
    { path: 'vae/b.safetensors', url: 'https://example.com/b.safetensors', sha256: S2, size: 200 },
    { path: 'loras/c.safetensors', url: 'https://example.com/c.safetensors', sha256: S3, size: 3 },
  ],
}

function assertLoads(text: string) {
  const loaded = parseSpecText(text, 'versions/pins.json', 'pins')
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.error))
}

const Pin = suite('applyPins')

const formats: [string, (v: unknown) => string][] = [
  ['two spaces', v => `${JSON.stringify(v, null, 2)}\n`],
  ['four spaces', v => `${JSON.stringify(v, null, 4)}\n`],
  ['tabs', v => `${JSON.stringify(v, null, '\t')}\n`],
  ['compact, one line', v => JSON.stringify(v)],
  ['two spaces, CRLF', v => `${JSON.stringify(v, null, 2)}\n`.replace(/\n/g, '\r\n')],
  ['tabs, CRLF, no final newline', v => JSON.stringify(v, null, '\t').replace(/\n/g, '\r\n')],
]

for (const [name, format] of formats) {
  Pin(`${name}: the result is exactly the pinned spec in the same format`, () => {
    const text = applyPins(format(before), pins)
    assert.fixture(text, format(after))
    assertLoads(text)
  })
}

Pin('hand-written formatting is kept byte for byte: single-line objects, odd spacing, escapes', () => {
  const text = [
    '{ "schema_version": 2, "id": "pins",',
    '  "description": "caf\\u00e9 \\"quoted\\"",',
    '  "comfyui": {"repo" : "https://github.com/comfyanonymous/ComfyUI",   "ref" : "master"},',
    '  "custom_nodes": [',
    '    { "repo": "https://github.com/a/one", "ref": "v1" },',
    '    { "repo": "https://github.com/a/two",',
    '      "ref": "main",     "enabled": false },',
    '    {"name":"three","repo":"https://github.com/a/three"}',
    '  ],',
    '  "models": [ { "path": "vae/x.safetensors", "url": "https://example.com/x" } ]',
    '}',
  ].join('\n')
  const out = applyPins(text, {
    comfyui: { commit: C1 },
    nodes: [{ index: 0, commit: C2 }, { index: 1, commit: C3 }, { index: 2, commit: C4 }],
    models: [{ index: 0, size: 7 }],
  })
  assert.fixture(out, [
    '{ "schema_version": 2, "id": "pins",',
    '  "description": "caf\\u00e9 \\"quoted\\"",',
    `  "comfyui": {"repo" : "https://github.com/comfyanonymous/ComfyUI",   "ref" : "master",   "commit" : "${C1}"},`,
    '  "custom_nodes": [',
    `    { "repo": "https://github.com/a/one", "ref": "v1", "commit": "${C2}" },`,
    '    { "repo": "https://github.com/a/two",',
    `      "ref": "main",     "commit": "${C3}",     "enabled": false },`,
    `    {"name":"three","repo":"https://github.com/a/three","commit":"${C4}"}`,
    '  ],',
    '  "models": [ { "path": "vae/x.safetensors", "url": "https://example.com/x", "size": 7 } ]',
    '}',
  ].join('\n'))
  assertLoads(out)
})

Pin('an existing value is replaced in place, even when it is not where a new key would go', () => {
  const text = '{\n  "comfyui": {\n    "commit": "' + OLD + '",\n    "repo": "https://x.example/c"\n  },\n  "models": [{"size": 1, "url": "https://x.example/m", "path": "m/x", "sha256": "' + SOLD + '"}]\n}\n'
  const out = applyPins(text, { comfyui: { commit: C1 }, models: [{ index: 0, sha256: S1, size: 2 }] })
  assert.fixture(out, '{\n  "comfyui": {\n    "commit": "' + C1 + '",\n    "repo": "https://x.example/c"\n  },\n  "models": [{"size": 2, "url": "https://x.example/m", "path": "m/x", "sha256": "' + S1 + '"}]\n}\n')
})

Pin('an only property glued to its brace gets a space after the comma', () => {
  const text = `{\n  "comfyui": {"repo": "https://x.example/c"},\n  "custom_nodes": [{ "repo": "https://x.example/n" }]\n}\n`
  const out = applyPins(text, { comfyui: { commit: C1 }, nodes: [{ index: 0, commit: C2 }] })
  assert.fixture(out, `{\n  "comfyui": {"repo": "https://x.example/c", "commit": "${C1}"},\n  "custom_nodes": [{ "repo": "https://x.example/n", "commit": "${C2}" }]\n}\n`)
})

Pin('only sha256, only size, and no pins at all', () => {
  const text = `${JSON.stringify({ models: [{ path: 'a/b', url: 'https://x.example/a', size: 5 }, { path: 'a/c', url: 'https://x.example/c', sha256: SOLD }] }, null, 2)}\n`
  const out = applyPins(text, { models: [{ index: 0, sha256: S1 }, { index: 1, size: 9 }] })
  assert.fixture(out, `${JSON.stringify({ models: [{ path: 'a/b', url: 'https://x.example/a', sha256: S1, size: 5 }, { path: 'a/c', url: 'https://x.example/c', sha256: SOLD, size: 9 }] }, null, 2)}\n`)
  assert.is(applyPins(text, {}), text)
})

Pin('text that is not plain JSON, or pins that do not match it, is a caller bug and throws', () => {
  assert.throws(() => applyPins('{ "comfyui": { "repo": "x", } }', { comfyui: { commit: C1 } }), /not valid JSON/)
  assert.throws(() => applyPins('{ // c\n "comfyui": { "repo": "x" } }', { comfyui: { commit: C1 } }), /not valid JSON/)
  assert.throws(() => applyPins('{ "custom_nodes": [] }', { nodes: [{ index: 0, commit: C1 }] }), /no object at \["custom_nodes",0\]/)
})

const Rename = suite('renameId')

Rename('changes only the id value', () => {
  const text = `${JSON.stringify(before, null, 4)}\n`.replace(/\n/g, '\r\n')
  const out = renameId(text, 'pins-copy')
  assert.fixture(out, text.replace('"id": "pins"', '"id": "pins-copy"'))
  assert.ok(parseSpecText(out, 'versions/pins-copy.json', 'pins-copy').ok)
})

Rename('adds an id after schema_version when there is none', () => {
  assert.is(renameId('{\n  "schema_version": 2,\n  "comfyui": {}\n}\n', 'x'), '{\n  "schema_version": 2,\n  "id": "x",\n  "comfyui": {}\n}\n')
})

Pin.run()
Rename.run()
