import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { backendEnv, detectBackend, missingPipHint, PASSED, type Backend } from '../lib/python/backend.ts'
import { collectRequirements } from '../lib/python/collect.ts'
import { compile, compileInputsHash, uvCompileArgs } from '../lib/python/compile.ts'
import { indexEnv, indexOptions } from '../lib/python/indexes.ts'
import { installLock, parseInstalled, uvInstallArgs } from '../lib/python/install.ts'
import { installedPackages } from '../lib/python/installed.ts'
import { venvPython } from '../lib/python/interpreter.ts'
import { createVenv, uvVenvArgs, VENV_MARKER } from '../lib/python/venv.ts'
import { resolveTorchBackend } from '../lib/python/torch-backend.ts'
import { listDistributions } from '../lib/python/distributions.ts'
import { PythonSchema } from '../lib/spec/schema.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'

const root = mkdtempSync(join(tmpdir(), 'comfy-vc-uv-'))

const U = suite('uv arguments and detection')
const fakeUv: Backend = { kind: 'uv', command: ['uv'], version: '0.12.5', label: 'uv 0.12.5' }

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

U('a uv inside .venv is ignored by auto (Manager installs one there) and used only with installer=uv; installer=pip ignores uv; installer=uv without uv is an error', () => {
  const venv = join(root, 'venv-with-uv')
  mkdirSync(join(venv, 'lib', 'python3.11', 'site-packages', 'uv-0.6.0.dist-info'), { recursive: true })
  mkdirSync(join(venv, 'lib', 'python3.11', 'site-packages', 'pip-24.0.dist-info'), { recursive: true })
  const auto = detectBackend('auto', venv, join(root, 'nothing-on-path'))
  assert.equal(auto.ok && [auto.value.kind, auto.value.label], ['pip', 'pip 24.0'])
  const autoPath = detectBackend('auto', venv, join(root, 'prefix', 'bin'))
  assert.equal(autoPath.ok && [autoPath.value.kind, autoPath.value.command], ['uv', [join(root, 'prefix', 'bin', 'uv')]])
  const b = detectBackend('uv', venv, join(root, 'prefix', 'bin'))
  assert.equal(b.ok && [b.value.kind, b.value.command, b.value.label], ['uv', [venvPython(venv), '-m', 'uv'], 'uv 0.6.0'])
  const pip = detectBackend('pip', venv, join(root, 'prefix', 'bin'))
  assert.equal(pip.ok && [pip.value.kind, pip.value.label], ['pip', 'pip 24.0'])
  const none = detectBackend('uv', join(root, 'nothing'), '')
  assert.is(none.ok, false)
  if (!none.ok) assert.match(none.error, /uv was not found.*COMFY_INSTALLER=pip/)
})

U('auto keeps the backend the environment was made with: pip stays pip when uv appears on PATH; uv gone is an error, not a silent switch', () => {
  const venv = join(root, 'venv-made-by')
  mkdirSync(venv, { recursive: true })
  writeFileSync(join(venv, VENV_MARKER), JSON.stringify({ realpath: null, version: '3.11', backend: 'pip' }))
  const kept = detectBackend('auto', venv, join(root, 'prefix', 'bin'))
  assert.equal(kept.ok && kept.value.kind, 'pip')
  writeFileSync(join(venv, VENV_MARKER), JSON.stringify({ realpath: null, version: '3.11', backend: 'uv' }))
  const gone = detectBackend('auto', venv, join(root, 'nothing-on-path'))
  assert.is(gone.ok, false)
  if (!gone.ok) assert.match(gone.error, /made with uv.*COMFY_INSTALLER=pip/)
  const still = detectBackend('auto', venv, join(root, 'prefix', 'bin'))
  assert.equal(still.ok && still.value.kind, 'uv')
})

U('uv venv --seed (pip inside, for install.py), with --system-site-packages when the spec asks', () => {
  assert.equal(uvVenvArgs({ venvDir: '/h/.venv', python: '/usr/bin/python3.11', offline: false, systemSitePackages: false }), ['venv', '/h/.venv', '--python', '/usr/bin/python3.11', '--seed'])
  assert.equal(uvVenvArgs({ pre: ['-m', 'uv'], venvDir: '/h/.venv', python: '3.11', offline: true, systemSitePackages: true }), ['-m', 'uv', 'venv', '/h/.venv', '--python', '3.11', '--seed', '--system-site-packages', '--offline'])
})

U('python.index_strategy reaches uv as --index-strategy, and the compile key', () => {
  const index = indexOptions(PythonSchema.parse({}), undefined, { offline: false })
  assert.equal(uvCompileArgs({ input: 'i', output: 'o', python: 'p', index, indexStrategy: 'unsafe-best-match' }), ['pip', 'compile', 'i', '--output-file', 'o', '--python', 'p', '--index-strategy', 'unsafe-best-match', '--no-header'])
  assert.equal(uvInstallArgs({ requirements: 'lock.txt', python: 'p', index, indexStrategy: 'unsafe-best-match' }), ['pip', 'install', '-r', 'lock.txt', '--python', 'p', '--index-strategy', 'unsafe-best-match'])
  const collected = collectRequirements({ nodes: [{ name: 'n', text: 'demo-a\n' }], rules: PythonSchema.parse({}), installed: new Map() })
  const key = (rules: object) => compileInputsHash({ collected, rules: PythonSchema.parse(rules), backend: fakeUv, pythonVersion: '3.11.7', offline: false })
  assert.is.not(key({ index_strategy: 'unsafe-best-match' }), key({}))
  assert.is.not(key({ index_strategy: 'first-index' }), key({ index_strategy: 'unsafe-best-match' }))
})

U('torch_backend "auto" is decided on this machine from the NVIDIA driver before it enters the key: cpu without one', () => {
  const dir = join(root, 'driver')
  mkdirSync(dir, { recursive: true })
  const proc = join(dir, 'proc-version')
  assert.is(resolveTorchBackend('auto', [join(dir, 'none')]), 'cpu')
  writeFileSync(proc, 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.90.07  Fri May 31 09:35:42 UTC 2024\n')
  assert.is(resolveTorchBackend('auto', [join(dir, 'none'), proc]), 'cu124')
  writeFileSync(proc, '570.124.06\n')
  assert.is(resolveTorchBackend('auto', [proc]), 'cu128')
  writeFileSync(proc, '470.57.02\n')
  assert.is(resolveTorchBackend('auto', [proc]), 'cpu')
  assert.is(resolveTorchBackend('cu126', [proc]), 'cu126')
  assert.is(resolveTorchBackend(null, [proc]), null)
  // Decided before the key: "cpu" and "cu124" locks differ, and neither is keyed "auto".
  const collected = collectRequirements({ nodes: [{ name: 'n', text: 'torch\n' }], rules: PythonSchema.parse({}), installed: new Map() })
  const key = (torch_backend: string) => compileInputsHash({ collected, rules: PythonSchema.parse({ torch_backend }), backend: fakeUv, pythonVersion: '3.11.7', offline: false })
  assert.is.not(key('cpu'), key('cu124'))
})

U('compile on uv, end to end with a recording stand-in for the uv binary: kept build as constraint and stand-in wheel, concrete torch backend, index strategy, no ambient UV_*', async () => {
  const dir = join(root, 'fake-uv')
  const site = join(dir, 'venv', 'lib', 'python3.11', 'site-packages')
  const info = join(site, 'torch-2.5.0+cu124.dist-info')
  mkdirSync(info, { recursive: true })
  const metadata = 'Metadata-Version: 2.1\nName: torch\nVersion: 2.5.0+cu124\nRequires-Dist: filelock\nRequires-Dist: triton==3.1.0; platform_system == "Linux"\n\n'
  writeFileSync(join(info, 'METADATA'), metadata)
  // Records what it was given (argv, its PIP_/UV_ environment, the constraints, the wheels in each --find-links) and
  // writes a lock pinning what the constraints pin: it stands in for uv's resolver, which is not what is tested here.
  const uv = join(dir, 'uv')
  writeFileSync(uv, `#!/usr/bin/env python3
import json, os, sys, zipfile
a = sys.argv[1:]
rec = {'args': a, 'env': {k: v for k, v in os.environ.items() if k.startswith(('UV_', 'PIP_'))}}
rec['constraints'] = open(a[a.index('--constraint') + 1]).read()
rec['wheels'] = {}
for i, x in enumerate(a):
    if x == '--find-links' and os.path.isdir(a[i + 1]):
        for w in sorted(os.listdir(a[i + 1])):
            z = zipfile.ZipFile(os.path.join(a[i + 1], w))
            rec['wheels'][w] = {n: z.read(n).decode() for n in z.namelist() if n.endswith('METADATA')}
json.dump(rec, open(os.environ['FAKE_UV_LOG'], 'w'))
open(a[a.index('--output-file') + 1], 'w').write(''.join(l + '\\n' for l in rec['constraints'].split('\\n') if l.startswith('torch==')))
`)
  chmodSync(uv, 0o755)
  const log = join(dir, 'log.json')
  const rules = PythonSchema.parse({ find_links: ['/wheels'], index_strategy: 'unsafe-best-match', torch_backend: resolveTorchBackend('auto', [join(dir, 'no-driver')]) })
  const collected = collectRequirements({ nodes: [{ name: 'NodeT', text: 'torch<2.6\n' }], rules, installed: new Map() })
  const backend: Backend = { kind: 'uv', command: [uv], version: 'stand-in', label: 'uv (stand-in)' }
  const env = { PATH: process.env.PATH ?? '', FAKE_UV_LOG: log, UV_INDEX_STRATEGY: 'first-index', UV_TORCH_BACKEND: 'cu128', UV_PRERELEASE: 'allow', UV_NATIVE_TLS: '1' }
  const r = await compile({
    collected, rules, backend, venvPython: join(dir, 'venv', 'bin', 'python'), pythonVersion: '3.11.7', cacheRoot: join(dir, 'cache'),
    offline: false, timeoutMs: 60_000, env, installed: { environment: listDistributions([site]), base: [] },
  })
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  if (!r.ok) return
  const rec = JSON.parse(readFileSync(log, 'utf8')) as { args: string[]; env: Record<string, string>; constraints: string; wheels: Record<string, Record<string, string>> }
  const at = (flag: string) => rec.args[rec.args.indexOf(flag) + 1]
  assert.is(at('--torch-backend'), 'cpu', '"auto" was decided here (no driver: cpu)')
  assert.is(at('--index-strategy'), 'unsafe-best-match')
  assert.ok(rec.args.includes('--no-header'))
  assert.match(rec.constraints, /^torch==2\.5\.0\+cu124$/m)
  assert.equal(Object.keys(rec.wheels), ['torch-2.5.0+cu124-py3-none-any.whl'])
  assert.equal(Object.values(rec.wheels['torch-2.5.0+cu124-py3-none-any.whl']!), [metadata], 'the stand-in carries the installed METADATA')
  assert.equal([rec.env.UV_INDEX_STRATEGY, rec.env.UV_TORCH_BACKEND, rec.env.UV_PRERELEASE, rec.env.UV_NATIVE_TLS, rec.env.UV_NO_CONFIG], [undefined, undefined, undefined, '1', '1'])
  assert.equal(r.value.provided.map(p => [p.name, p.version, p.why]), [['torch', '2.5.0+cu124', 'protected']])
  assert.match(readFileSync(r.value.lockPath, 'utf8'), /^torch==2\.5\.0\+cu124  # protected/m)
})

U('the compile key names the platform and the Python version', () => {
  const collected = collectRequirements({ nodes: [{ name: 'n', text: 'demo-a\n' }], rules: PythonSchema.parse({}), installed: new Map() })
  const at = (pythonVersion: string) => compileInputsHash({ collected, rules: PythonSchema.parse({}), backend: fakeUv, pythonVersion, offline: false })
  assert.is.not(at('3.11.7'), at('3.12.1'))
  const arch = Object.getOwnPropertyDescriptor(process, 'arch')!
  const before = at('3.11.7')
  Object.defineProperty(process, 'arch', { value: process.arch === 'arm64' ? 'x64' : 'arm64' })
  try { assert.is.not(at('3.11.7'), before, 'another architecture, another lock') } finally { Object.defineProperty(process, 'arch', arch) }
})

U('ambient PIP_* and UV_* (the rule in docs/tech.md): all removed from the child but transport settings, which are in the key', () => {
  const ambient = {
    PATH: '/bin', UV_INDEX_STRATEGY: 'unsafe-best-match', UV_TORCH_BACKEND: 'cu128', UV_PRERELEASE: 'allow', UV_RESOLUTION: 'lowest',
    UV_SYSTEM_PYTHON: '1', UV_BREAK_SYSTEM_PACKAGES: '1', UV_NO_BUILD_ISOLATION: '1', UV_INDEX_PYTORCH_PASSWORD: 'pw', UV_CUDA_DRIVER_VERSION: '550.1',
    PIP_PRE: '1', PIP_UPGRADE_STRATEGY: 'eager', PIP_ONLY_BINARY: ':all:', PIP_NO_BUILD_ISOLATION: '0', PIP_USER: '1',
    PIP_CERT: '/ca.pem', UV_NATIVE_TLS: '1', UV_HTTP_TIMEOUT: '60', UV_LINK_MODE: 'copy',
  }
  const env = backendEnv(ambient, '/cache')
  const passed = Object.keys(env).filter(k => /^(PIP|UV)_/.test(k)).sort()
  assert.equal(passed, ['PIP_CERT', 'PIP_CONFIG_FILE', 'PIP_DISABLE_PIP_VERSION_CHECK', 'PIP_NO_INPUT', 'UV_CACHE_DIR', 'UV_HTTP_TIMEOUT', 'UV_LINK_MODE', 'UV_NATIVE_TLS', 'UV_NO_CONFIG'])
  // Every passed ambient one is in the key; a removed one is not (it cannot change what is resolved).
  const collected = collectRequirements({ nodes: [{ name: 'n', text: 'demo-a\n' }], rules: PythonSchema.parse({}), installed: new Map() })
  const key = (e: Record<string, string>) => compileInputsHash({ collected, rules: PythonSchema.parse({}), backend: fakeUv, pythonVersion: '3.11.7', offline: false, env: e })
  assert.is.not(key({ UV_NATIVE_TLS: '1' }), key({}))
  assert.is.not(key({ PIP_CERT: '/a.pem' }), key({ PIP_CERT: '/b.pem' }))
  assert.is(key({ UV_INDEX_STRATEGY: 'unsafe-best-match', PIP_PRE: '1' }), key({}))
  for (const k of Object.keys(env)) if (/^(PIP|UV)_/.test(k) && !(k in ambient)) assert.ok(['PIP_CONFIG_FILE', 'PIP_DISABLE_PIP_VERSION_CHECK', 'PIP_NO_INPUT', 'UV_CACHE_DIR', 'UV_NO_CONFIG'].includes(k), k)
  for (const k of passed) if (k in ambient) assert.ok(PASSED.has(k), k)
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
