import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { backendEnv, detectBackend, missingPipHint, type Backend } from '../lib/python/backend.ts'
import { collectRequirements } from '../lib/python/collect.ts'
import { compile, uvCompileArgs } from '../lib/python/compile.ts'
import { indexEnv, indexOptions } from '../lib/python/indexes.ts'
import { installLock, parseInstalled, uvInstallArgs } from '../lib/python/install.ts'
import { installedPackages } from '../lib/python/installed.ts'
import { venvPython } from '../lib/python/interpreter.ts'
import { createVenv } from '../lib/python/venv.ts'
import { PythonSchema } from '../lib/spec/schema.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'

const root = mkdtempSync(join(tmpdir(), 'comfy-vc-uv-'))

const U = suite('uv arguments and detection')

U('uv pip compile: spec settings on the command line, index URLs and limits in the environment', () => {
  const rules = PythonSchema.parse({
    index_url: 'https://mirror.example/simple', extra_index_urls: ['https://download.pytorch.org/whl/cu128'],
    find_links: ['/wheels'], torch_backend: 'cu128', exclude_newer: '2026-01-01T00:00:00Z',
  })
  const index = indexOptions(rules, { indexUrls: ['https://u:s3cret@node.example/simple'], extraIndexUrls: ['https://download.pytorch.org/whl/cu128'] }, { offline: false })
  const args = uvCompileArgs({ input: 'in.txt', output: 'out.txt', python: '/h/.venv/bin/python', constraints: 'c.txt', index, torchBackend: 'cu128', excludeNewer: '2026-01-01T00:00:00Z' })
  assert.equal(args, [
    'pip', 'compile', 'in.txt', '--output-file', 'out.txt', '--python', '/h/.venv/bin/python', '--constraint', 'c.txt',
    '--find-links', '/wheels',
    '--torch-backend', 'cu128', '--exclude-newer', '2026-01-01T00:00:00Z', '--no-header',
  ])
  assert.not.ok(args.join(' ').includes('s3cret'))
  // uv 0.4.23+: UV_DEFAULT_INDEX is --default-index, UV_INDEX a space-separated --index list (earlier ones first).
  assert.equal(indexEnv(index, 'uv', { timeoutS: 7, retries: 2 }), {
    UV_DEFAULT_INDEX: 'https://mirror.example/simple',
    UV_INDEX: 'https://download.pytorch.org/whl/cu128 https://u:s3cret@node.example/simple',
    UV_HTTP_CONNECT_TIMEOUT: '7', UV_HTTP_RETRIES: '2',
  })
  const bare = indexOptions(PythonSchema.parse({}), undefined, { offline: false })
  assert.equal(uvCompileArgs({ input: 'in.txt', output: 'out.txt', python: 'py', index: bare }), ['pip', 'compile', 'in.txt', '--output-file', 'out.txt', '--python', 'py', '--no-header'])
  assert.equal(indexEnv(bare, 'uv'), {})
})

U('offline: uv gets --offline and keeps its indexes (pip would get --no-index)', () => {
  const index = indexOptions(PythonSchema.parse({ find_links: ['/wheels'], index_url: 'https://mirror.example/simple' }), undefined, { offline: true })
  assert.equal(uvCompileArgs({ input: 'i', output: 'o', python: 'p', index }), ['pip', 'compile', 'i', '--output-file', 'o', '--python', 'p', '--find-links', '/wheels', '--offline', '--no-header'])
  assert.equal(indexEnv(index, 'uv'), { UV_DEFAULT_INDEX: 'https://mirror.example/simple' })
})

U('uv pip install -r, never sync, with the torch backend', () => {
  const index = indexOptions(PythonSchema.parse({ extra_index_urls: ['https://x.example/simple'] }), undefined, { offline: false })
  const args = uvInstallArgs({ requirements: 'lock.txt', python: '/h/.venv/bin/python', index, torchBackend: 'cpu' })
  assert.equal(args, ['pip', 'install', '-r', 'lock.txt', '--python', '/h/.venv/bin/python', '--torch-backend', 'cpu'])
  assert.equal(indexEnv(index, 'uv'), { UV_INDEX: 'https://x.example/simple' })
  assert.not.ok(args.includes('sync'))
})

U('uv install output is parsed', () => {
  const out = 'Resolved 3 packages in 5ms\nInstalled 2 packages in 3ms\n + demo-a==1.0\n - demo-c==1.0\n + demo-c==2.0\n ~ demo-x==0.1\n'
  assert.equal(parseInstalled(out), ['demo-a==1.0', 'demo-c==2.0', 'demo-x==0.1'])
})

U('uv on PATH: its version from a dist-info beside it, else the binary\'s identity', () => {
  const prefix = join(root, 'prefix')
  const bin = join(prefix, 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(join(bin, 'uv'), '#!/bin/sh\n'); chmodSync(join(bin, 'uv'), 0o755)
  const venv = join(root, 'no-venv')
  const plain = detectBackend('auto', venv, ['/nonexistent', bin].join(delimiter))
  assert.ok(plain.ok && plain.value.kind === 'uv')
  if (!plain.ok) return
  assert.equal(plain.value.command, [join(bin, 'uv')])
  assert.match(plain.value.version, /^binary:.*uv:\d+:\d+$/)
  mkdirSync(join(prefix, 'lib', 'python3.11', 'site-packages', 'uv-0.5.11.dist-info'), { recursive: true })
  const pipInstalled = detectBackend('uv', venv, bin)
  assert.equal(pipInstalled.ok && [pipInstalled.value.version, pipInstalled.value.label], ['0.5.11', 'uv 0.5.11'])
})

U('python -m uv in the environment comes first; installer=pip ignores uv; installer=uv without uv is an error', () => {
  const venv = join(root, 'venv-with-uv')
  mkdirSync(join(venv, 'lib', 'python3.11', 'site-packages', 'uv-0.6.0.dist-info'), { recursive: true })
  mkdirSync(join(venv, 'lib', 'python3.11', 'site-packages', 'pip-24.0.dist-info'), { recursive: true })
  const b = detectBackend('auto', venv, join(root, 'prefix', 'bin'))
  assert.equal(b.ok && [b.value.kind, b.value.command, b.value.label], ['uv', [venvPython(venv), '-m', 'uv'], 'uv 0.6.0'])
  const pip = detectBackend('pip', venv, join(root, 'prefix', 'bin'))
  assert.equal(pip.ok && [pip.value.kind, pip.value.label], ['pip', 'pip 24.0'])
  const none = detectBackend('uv', join(root, 'nothing'), '')
  assert.is(none.ok, false)
  if (!none.ok) assert.match(none.error, /uv was not found.*COMFY_INSTALLER=pip/)
})

U('the child environment ignores ambient index settings and puts uv\'s cache in the cache root', () => {
  const env = backendEnv({ PATH: '/bin', PIP_INDEX_URL: 'https://x', PIP_FIND_LINKS: '/opt/wheels', UV_INDEX_URL: 'https://y', PYTHONPATH: '/p', PIP_CERT: '/ca.pem' }, '/cache')
  assert.equal([env.PIP_INDEX_URL, env.PIP_FIND_LINKS, env.UV_INDEX_URL, env.PYTHONPATH], [undefined, undefined, undefined, undefined])
  assert.equal([env.PATH, env.PIP_CERT, env.UV_CACHE_DIR, env.UV_NO_CONFIG, env.PIP_CONFIG_FILE], ['/bin', '/ca.pem', join('/cache', 'uv'), '1', '/dev/null'])
})

U('pip asked to run in an environment uv made (no pip) says what to do', () => {
  assert.match(missingPipHint({ kind: 'pip' }, '/h/.venv/bin/python: No module named pip'), /COMFY_INSTALLER=uv/)
  assert.is(missingPipHint({ kind: 'uv' }, 'No module named pip'), '')
})

// --- integration, only where uv exists ---

const I = suite('uv integration')
const found = detectBackend('uv', join(root, 'none'), process.env.PATH ?? '')

if (!found.ok) {
  console.log('  (uv integration skipped: uv is not on PATH and no environment has python -m uv)')
  I.skip('uv venv, compile, install and conflict attribution', () => {})
} else {
  const uv: Backend = found.value
  I('uv venv, compile, install and conflict attribution', async () => {
    const wheels = join(root, 'wheels')
    buildWheel(wheels, { name: 'demo-numpy', version: '1.5' })
    buildWheel(wheels, { name: 'demo-numpy', version: '2.1' })
    buildWheel(wheels, { name: 'demo-a', version: '1.0', requires: ['demo-numpy<2'] })
    const cacheRoot = join(root, 'cache')
    const venvDir = join(root, 'home', '.venv')
    const env = process.env
    const rules = PythonSchema.parse({ find_links: [wheels] })
    const made = await createVenv({ venvDir, backend: uv, envPATH: process.env.PATH ?? '', cacheRoot, offline: true, timeoutMs: 120_000, env })
    assert.ok(made.ok, made.ok ? '' : made.error.message)
    if (!made.ok) return
    const collected = collectRequirements({ nodes: [{ name: 'node-a', text: 'demo-a\n' }], rules, installed: new Map() })
    const base = { rules, backend: uv, venvPython: made.value.python, pythonVersion: made.value.fullVersion ?? made.value.version ?? '3', cacheRoot, offline: true, timeoutMs: 120_000, env }
    const r = await compile({ ...base, collected })
    assert.ok(r.ok, r.ok ? '' : r.error.message)
    if (!r.ok) return
    assert.equal(r.value.pins, ['demo-a==1.0', 'demo-numpy==1.5'])
    assert.not.match(readFileSync(r.value.lockPath, 'utf8'), /autogenerated/)
    const i = await installLock({ lockPath: r.value.lockPath, backend: uv, venvPython: made.value.python, rules, offline: true, cacheRoot, timeoutMs: 120_000, env })
    assert.ok(i.ok, i.ok ? '' : i.error.message)
    assert.is(installedPackages(venvDir).get('demo-numpy'), '1.5')
    const conflict = collectRequirements({ nodes: [{ name: 'node-a', text: 'demo-numpy<2' }, { name: 'node-b', text: 'demo-numpy>=2' }], rules, installed: new Map() })
    const c = await compile({ ...base, collected: conflict })
    assert.equal(!c.ok && c.error.reason, 'conflict')
    if (!c.ok) assert.equal(c.error.attribution, ['demo-numpy: node-a asks demo-numpy<2; node-b asks demo-numpy>=2'])
  })
}

I.after(guarded(() => { rmSync(root, { recursive: true, force: true }) }))

U.run()
I.run()
