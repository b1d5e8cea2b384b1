import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderSpecJsonSchema, specJsonSchema, SPEC_SCHEMA_ID } from '../lib/spec/json-schema.ts'
import { loadSpecFile } from '../lib/spec/load.ts'
import { renderDiagnostic } from '../lib/spec/diagnostic.ts'

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url))
const committed = () => readFileSync(root('docs/version.schema.json'), 'utf8')

type Schema = Record<string, unknown>

/**
 * Checks a value against the JSON Schema keywords the generated file uses; returns the failing paths. Any keyword it
 * does not know fails the test, so the checker cannot silently pass a schema it does not understand.
 */
function check(schema: Schema, value: unknown, path = '$'): string[] {
  const known = new Set(['$schema', '$id', 'title', 'description', 'default', 'type', 'properties', 'required', 'additionalProperties',
    'propertyNames', 'items', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'const', 'enum', 'anyOf'])
  for (const k of Object.keys(schema)) if (!known.has(k)) throw new Error(`test checker does not know keyword "${k}" at ${path}`)
  if (schema.anyOf) {
    const options = schema.anyOf as Schema[]
    return options.some(s => check(s, value, path).length === 0) ? [] : [`${path}: matches no anyOf option`]
  }
  const type = schema.type as string | undefined
  const typeOk = type === undefined ? true
    : type === 'integer' ? Number.isInteger(value)
    : type === 'array' ? Array.isArray(value)
    : type === 'object' ? !!value && typeof value === 'object' && !Array.isArray(value)
    : type === 'null' ? value === null
    : typeof value === type
  if (!typeOk) return [`${path}: not ${type}`]
  const out: string[] = []
  if ('const' in schema && value !== schema.const) out.push(`${path}: not ${JSON.stringify(schema.const)}`)
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) out.push(`${path}: not in enum`)
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern as string, 'u').test(value)) out.push(`${path}: does not match pattern`)
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) out.push(`${path}: too short`)
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) out.push(`${path}: too long`)
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${path}: below minimum`)
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${path}: above maximum`)
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...check(schema.items as Schema, v, `${path}[${i}]`)))
  if (type === 'object') {
    const obj = value as Record<string, unknown>
    const props = (schema.properties ?? {}) as Record<string, Schema>
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) out.push(`${path}.${r}: required`)
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) out.push(...check(props[k], v, `${path}.${k}`))
      else if (schema.additionalProperties === false) out.push(`${path}.${k}: not allowed`)
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...check(schema.additionalProperties as Schema, v, `${path}.${k}`))
    }
  }
  return out
}

/** A small spec in the shape of versions/example.json, written inline so this test does not depend on that file. */
const valid = {
  $schema: '../docs/version.schema.json',
  schema_version: 2,
  id: 'inline-example',
  description: 'inline',
  comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI', ref: 'master', commit: '0'.repeat(40) },
  custom_nodes: [
    { repo: 'https://github.com/ltdrdata/ComfyUI-Manager', ref: 'main' },
    { name: 'impact', repo: 'git@github.com:ltdrdata/ComfyUI-Impact-Pack.git', ref: 'Main', enabled: false, install_script: true },
  ],
  models: [{ path: 'checkpoints/sd_xl_base_1.0.safetensors', url: 'https://huggingface.co/x/y/resolve/main/a.safetensors', sha256: 'a'.repeat(64), size: 6938078334 }],
  python: { version: '3.11', extra_index_urls: ['https://download.pytorch.org/whl/cu128'], index_url: null, torch_backend: 'cu128', on_conflict: 'per-node' },
  launch: { port: 8188, listen: '127.0.0.1', args: ['--preview-method', 'auto'], env: { A: 'b' } },
}

const S = suite('version.schema.json')

S('the committed file is fresh', () => {
  assert.ok(committed() === renderSpecJsonSchema(), 'docs/version.schema.json is stale: run `npm run schema` and commit the result')
})

S('is draft 2020-12 with an id, a title and hover descriptions; defaults are optional (io: input)', () => {
  const schema = JSON.parse(committed()) as Schema
  assert.is(schema.$schema, 'https://json-schema.org/draft/2020-12/schema')
  assert.is(schema.$id, SPEC_SCHEMA_ID)
  assert.type(schema.title, 'string')
  assert.equal(schema.required, ['schema_version', 'id', 'comfyui'])
  const props = schema.properties as Record<string, Schema>
  const [gitNode, registryNode] = (props.custom_nodes!.items as Schema).anyOf as Schema[]
  const node = gitNode!.properties as Record<string, Schema>
  assert.equal(gitNode!.required, ['repo'])
  assert.equal(registryNode!.required, ['registry'])
  assert.match(String((registryNode!.properties as Record<string, Schema>).sha256!.description), /registry publishes no hash/)
  assert.match(String(node.name!.description), /custom_nodes/)
  assert.match(String(((props.models!.items as Schema).properties as Record<string, Schema>).path!.description), /models\//)
  assert.is(committed().endsWith('}\n'), true)
  assert.equal(specJsonSchema(), schema)
})

S('accepts a spec in the shape of versions/example.json', () => {
  const schema = JSON.parse(committed()) as Schema
  assert.equal(check(schema, valid), [])
  assert.equal(check(schema, { schema_version: 2, id: 'min', comfyui: { repo: 'file:///tmp/ComfyUI' } }), [])
  assert.equal(check(schema, { ...valid, custom_nodes: [{ registry: 'comfyui-kjnodes', version: '1.1.0', sha256: 'a'.repeat(64), enabled: false }] }), [])
})

S('rejects what the zod schema rejects structurally', () => {
  const schema = JSON.parse(committed()) as Schema
  const cases: [string, unknown, string][] = [
    ['unknown root key', { ...valid, nodes: [] }, '$.nodes: not allowed'],
    ['missing repo', { ...valid, comfyui: { ref: 'master' } }, '$.comfyui.repo: required'],
    ['short commit', { ...valid, comfyui: { ...valid.comfyui, commit: 'abc' } }, '$.comfyui.commit: does not match pattern'],
    // A node is one of two shapes: the checker names the node, the spec loader (parse-spec) the field.
    ['ftp repo', { ...valid, custom_nodes: [{ repo: 'ftp://x.example/y' }] }, '$.custom_nodes[0]: matches no anyOf option'],
    ['registry id with a slash', { ...valid, custom_nodes: [{ registry: 'kijai/kjnodes' }] }, '$.custom_nodes[0]: matches no anyOf option'],
    ['both repo and registry', { ...valid, custom_nodes: [{ repo: 'https://x.example/y', registry: 'y' }] }, '$.custom_nodes[0]: matches no anyOf option'],
    ['s3 model url', { ...valid, models: [{ path: 'a/b', url: 's3://bucket/x' }] }, '$.models[0].url: does not match pattern'],
    ['schema_version 1', { ...valid, schema_version: 1 }, '$.schema_version: not 2'],
    ['port out of range', { ...valid, launch: { port: 70000 } }, '$.launch.port: above maximum'],
    ['bad on_conflict', { ...valid, python: { on_conflict: 'skip' } }, '$.python.on_conflict: not in enum'],
    ['enabled as a string', { ...valid, custom_nodes: [{ repo: 'https://x.example/y', enabled: 'true' }] }, '$.custom_nodes[0]: matches no anyOf option'],
  ]
  for (const [name, value, problem] of cases) assert.equal(check(schema, value), [problem], name)
})

S('the spec cache keeps one entry per id: an edited spec replaces its entry, another id keeps its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comfy-vc-spec-cache-'))
  try {
    const cache = join(dir, 'specs')
    const write = (id: string, port: number) => writeFileSync(join(dir, `${id}.json`), JSON.stringify({ schema_version: 2, id, comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI' }, launch: { port } }))
    for (const port of [8188, 8189, 8190]) {
      write('a', port)
      assert.ok((await loadSpecFile(join(dir, 'a.json'), { cacheDir: cache })).ok)
    }
    write('b', 8188)
    assert.ok((await loadSpecFile(join(dir, 'b.json'), { cacheDir: cache })).ok)
    assert.is(readdirSync(cache).length, 2, readdirSync(cache).join(' '))
    const again = await loadSpecFile(join(dir, 'a.json'), { cacheDir: cache })
    assert.is(again.ok && again.value.spec.launch.port, 8190, 'the entry left is the spec as it is now')
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

S('versions/example.json loads with no problem and matches the JSON Schema', async () => {
  const loaded = await loadSpecFile(root('versions/example.json'))
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.map(d => renderDiagnostic(d, process.cwd())).join('\n'))
  if (!loaded.ok) return
  const { spec } = loaded.value
  assert.is(spec.comfyui.repo, 'https://github.com/comfyanonymous/ComfyUI')
  assert.equal(spec.custom_nodes.map(n => 'repo' in n && n.repo), [
    'https://github.com/ltdrdata/ComfyUI-Manager',
    'https://github.com/ltdrdata/ComfyUI-Impact-Pack',
    'https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite',
  ])
  assert.equal(spec.models.map(m => m.path), ['checkpoints/sd_xl_base_1.0.safetensors', 'vae/sdxl_vae.safetensors'])
  assert.equal(spec.python.extra_index_urls, ['https://download.pytorch.org/whl/cu128'])
  assert.is(spec.python.index_url, null)
  const raw = JSON.parse(loaded.value.text) as Record<string, unknown>
  assert.is(raw.$schema, '../docs/version.schema.json')
  assert.equal(check(JSON.parse(committed()) as Schema, raw), [])
})

S.run()
