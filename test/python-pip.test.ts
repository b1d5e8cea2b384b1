import cp from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, delimiter, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { backendEnv, detectBackend, type Backend } from '../lib/python/backend.ts'
import { collectRequirements, type CollectInput } from '../lib/python/collect.ts'
import { compile, compileInputsHash, pipResolveArgs, type CompileOptions } from '../lib/python/compile.ts'
import { indexArgs, indexEnv, indexOptions } from '../lib/python/indexes.ts'
import { installLock, parseInstalled, pipInstallArgs } from '../lib/python/install.ts'
import { runInstallScript } from '../lib/python/install-script.ts'
import { installedPackages } from '../lib/python/installed.ts'
import { discoverInterpreter, readVenv, venvPython } from '../lib/python/interpreter.ts'
import { installPerNode } from '../lib/python/per-node.ts'
import { createVenv, VENV_MARKER } from '../lib/python/venv.ts'
import { exec } from '../lib/util/exec.ts'
import { PythonSchema } from '../lib/spec/schema.ts'
import { buildWheel } from './helpers/wheels.ts'
import { guarded } from './helpers/hooks.ts'

// Counts child processes started by the code under test (exec.ts imports spawn by name).
let spawns = 0
const realSpawn = cp.spawn
cp.spawn = ((...args: Parameters<typeof cp.spawn>) => { spawns++; return (realSpawn as (...a: unknown[]) => cp.ChildProcess)(...args) }) as typeof cp.spawn
syncBuiltinESMExports()

const root = mkdtempSync(join(tmpdir(), 'comfy-vc-pip-'))
const wheels = join(root, 'wheels')
const cacheRoot = join(root, 'cache')
const venvDir = join(root, 'home', '.venv')
const PATH = process.env.PATH ?? ''
const env = process.env
const offlineRules = PythonSchema.parse({ find_links: [wheels] })
let backend: Backend
let python: string
let pythonVersion: string

function setup(): void {
  buildWheel(wheels, { name: 'demo-numpy', version: '1.5' })
  buildWheel(wheels, { name: 'demo-numpy', version: '2.1' })
  buildWheel(wheels, { name: 'demo-a', version: '1.0', requires: ['demo-numpy<2'] })
  buildWheel(wheels, { name: 'demo-b', version: '1.0', requires: ['demo-numpy>=2'] })
  buildWheel(wheels, { name: 'demo-c', version: '1.0' })
  buildWheel(wheels, { name: 'demo-c', version: '2.0' })
  buildWheel(wheels, { name: 'demo-keep', version: '1.0' })
  buildWheel(wheels, { name: 'Demo.Mixed_Name', version: '0.3.post1' })
}

const collect = (nodes: CollectInput['nodes'], extra: Partial<CollectInput> = {}) =>
  collectRequirements({ nodes, rules: offlineRules, installed: installedPackages(venvDir), ...extra })

const compileOpts = (collected: ReturnType<typeof collect>, extra: Partial<CompileOptions> = {}): CompileOptions => ({
  collected, rules: offlineRules, backend, venvPython: python, pythonVersion, cacheRoot, offline: true, timeoutMs: 120_000, env, ...extra,
})

const installOpts = (lockPath: string) => ({ lockPath, backend, venvPython: python, rules: offlineRules, offline: true, cacheRoot, timeoutMs: 120_000, env })

const distInfos = () => readdirSync(join(venvDir, 'lib', `python${pythonVersion.split('.').slice(0, 2).join('.')}`, 'site-packages')).filter(e => e.endsWith('.dist-info')).sort()

async function pyImport(code: string): Promise<string> {
  const r = await exec(python, ['-c', code], { env: backendEnv(env, cacheRoot) })
  assert.is(r.exitCode, 0, r.stderr)
  return r.stdout.trim()
}

// --- interpreter discovery and environment facts (files only) ---

const F = suite('interpreter and environment facts')

F('finds python3.X on PATH from file names, without starting it', () => {
  const bin = join(root, 'fake-bin')
  mkdirSync(bin, { recursive: true })
  for (const f of ['python3.9', 'python3']) { writeFileSync(join(bin, f), '#!/bin/sh\nexit 1\n'); chmodSync(join(bin, f), 0o755) }
  writeFileSync(join(bin, 'python3.8'), 'not executable')
  const before = spawns
  const r = discoverInterpreter('3.9', [join(root, 'nowhere'), bin].join(delimiter))
  assert.ok(r.ok)
  if (!r.ok) return
  assert.is(r.value.path, join(bin, 'python3.9'))
  assert.is(r.value.version, '3.9')
  assert.match(r.value.identity, /python3\.9:\d+:\d+$/)
  const missing = discoverInterpreter('3.8', bin)
  assert.is(missing.ok, false)
  if (!missing.ok) assert.match(missing.error, /Python 3\.8 was not found: no usable python3\.8 on PATH.*change python\.version/)
  assert.is(spawns, before)
})

F('resolves a pyenv shim to the installed version, and passes over one that points nowhere', () => {
  const pyenv = join(root, 'pyenv')
  const shims = join(pyenv, 'shims')
  const real = join(pyenv, 'versions', '3.12.1', 'bin')
  mkdirSync(shims, { recursive: true }); mkdirSync(real, { recursive: true })
  for (const f of ['python3.12', 'python3.13']) { writeFileSync(join(shims, f), '#!/usr/bin/env bash\nexec "/x/pyenv/libexec/pyenv" exec "$0"\n'); chmodSync(join(shims, f), 0o755) }
  writeFileSync(join(real, 'python3.12'), 'binary'); chmodSync(join(real, 'python3.12'), 0o755)
  const other = join(root, 'other-bin')
  mkdirSync(other, { recursive: true })
  writeFileSync(join(other, 'python3.13'), 'binary'); chmodSync(join(other, 'python3.13'), 0o755)
  const r = discoverInterpreter('3.12', [shims, other].join(delimiter))
  assert.equal(r.ok && [r.value.path, r.value.version, r.value.fullVersion], [join(real, 'python3.12'), '3.12', '3.12.1'])
  const r13 = discoverInterpreter('3.13', [shims, other].join(delimiter))
  assert.equal(r13.ok && r13.value.path, join(other, 'python3.13'))
})

F('an environment that does not exist has no facts', () => {
  const nowhere = join(root, 'no-venv')
  assert.is(readVenv(nowhere), undefined)
  assert.equal(installedPackages(nowhere), new Map())
  const b = detectBackend('pip', nowhere, '')
  assert.equal(b.ok && [b.value.kind, b.value.version, b.value.command], ['pip', 'unknown', [venvPython(nowhere), '-m', 'pip']])
})

// --- the pip path, for real ---

const P = suite('pip backend')

P.before(guarded(async () => {
  setup()
  const interp = discoverInterpreter(undefined, PATH)
  if (!interp.ok || !interp.value.version) throw new Error(`no python3 with a known version on PATH: ${interp.ok ? 'version unknown' : interp.error}`)
  const b = detectBackend('pip', venvDir, PATH)
  if (!b.ok) throw new Error(b.error)
  const made = await createVenv({ venvDir, version: interp.value.version, backend: b.value, envPATH: PATH, cacheRoot, offline: true, timeoutMs: 120_000, env })
  if (!made.ok) throw new Error(made.error.message)
  const b2 = detectBackend('auto', venvDir, '')   // no uv on this PATH: auto falls back to pip
  if (!b2.ok) throw new Error(b2.error)
  backend = b2.value
  python = made.value.python
  pythonVersion = readVenv(venvDir)?.fullVersion ?? interp.value.version
}))

P('the environment is made with the interpreter\'s venv, and read back from files', () => {
  const before = spawns
  const v = readVenv(venvDir)
  assert.ok(v)
  assert.is(v!.python, venvPython(venvDir))
  assert.ok(existsSync(join(venvDir, VENV_MARKER)))
  const pip = installedPackages(venvDir).get('pip')
  assert.ok(pip, 'pip is installed in the environment')
  assert.equal([backend.kind, backend.version, backend.label], ['pip', pip, `pip ${pip}`])
  assert.ok(detectBackend('auto', venvDir, '').ok && discoverInterpreter(undefined, PATH).ok)
  assert.is(spawns, before, 'facts for fingerprints come from files only')
})

P('a complete environment from the same interpreter is kept, with no process started', async () => {
  const before = spawns
  const again = await createVenv({ venvDir, version: readVenv(venvDir)!.version, backend, envPATH: PATH, cacheRoot, offline: true, timeoutMs: 60_000, env })
  assert.equal(again.ok && again.value.created, false)
  assert.is(spawns, before)
})

P('a folder that is not an environment is refused, a half-made one is made again', async () => {
  const stranger = join(root, 'stranger')
  mkdirSync(stranger, { recursive: true })
  writeFileSync(join(stranger, 'notes.txt'), 'mine')
  const r = await createVenv({ venvDir: stranger, backend, envPATH: PATH, cacheRoot, offline: true, timeoutMs: 60_000, env })
  assert.equal(!r.ok && r.error.reason, 'not-a-venv')
  assert.ok(existsSync(join(stranger, 'notes.txt')))
  const missing = await createVenv({ venvDir: join(root, 'v99'), version: '3.99', backend, envPATH: PATH, cacheRoot, offline: true, timeoutMs: 60_000, env })
  assert.equal(!missing.ok && missing.error.reason, 'no-interpreter')
  if (!missing.ok) assert.match(missing.error.message, /Python 3\.99 was not found/)
})

P('an environment a killed run left half-deleted (no pyvenv.cfg, the tool\'s note beside it) is made again, not refused', async () => {
  const half = join(root, 'half-venv')
  mkdirSync(join(half, 'lib', 'python3', 'site-packages', 'pip'), { recursive: true })
  mkdirSync(join(half, 'bin'), { recursive: true })
  writeFileSync(`${half}.comfy-vc-making`, '')
  const lines: string[] = []
  const r = await createVenv({ venvDir: half, backend, envPATH: PATH, cacheRoot, offline: true, timeoutMs: 120_000, env, onLine: l => lines.push(l) })
  assert.equal(r.ok && r.value.created, true, r.ok ? '' : r.error.message)
  assert.ok(lines.includes('the environment was left half-made; making it again'), lines.join('\n'))
  assert.ok(existsSync(join(half, 'pyvenv.cfg')))
  assert.not.ok(existsSync(`${half}.comfy-vc-making`), 'the note goes once the environment is complete')
})

P('pip argument lists', () => {
  const index = indexOptions(PythonSchema.parse({ index_url: 'https://u:p@mirror.example/simple', extra_index_urls: ['https://x.example/simple'], find_links: ['wheels'] }),
    { indexUrls: ['https://node.example/simple'], extraIndexUrls: [] }, { offline: false, baseDir: '/spec' })
  // Index URLs (which may hold a password) reach pip through its environment, never its command line.
  assert.equal(indexArgs(index, 'pip'), ['--find-links', '/spec/wheels'])
  assert.equal(indexEnv(index, 'pip', { timeoutS: 4, retries: 0 }), {
    PIP_INDEX_URL: 'https://u:p@mirror.example/simple', PIP_EXTRA_INDEX_URL: 'https://x.example/simple https://node.example/simple',
    PIP_TIMEOUT: '4', PIP_RETRIES: '0',
  })
  assert.equal(indexEnv({ ...index, offline: true }, 'pip'), {}, 'offline pip reads no index')
  assert.equal(pipResolveArgs({ input: 'r.in', report: 'r.json', constraints: 'c.txt', index: { ...index, offline: true }, log: 'pip.log' }), [
    'install', '--dry-run', '--ignore-installed', '--report', 'r.json', '-r', 'r.in', '-c', 'c.txt', '--log', 'pip.log', '--no-index', '--find-links', '/spec/wheels',
    '--progress-bar', 'off', '--no-input', '--disable-pip-version-check'])
  assert.equal(pipInstallArgs({ requirements: 'lock.txt', index: { ...index, offline: true } }).slice(0, 5), ['install', '-r', 'lock.txt', '--no-index', '--find-links'])
  assert.equal(parseInstalled('Successfully installed Demo.Mixed_Name-0.3.post1 demo-a-1.0\n'), ['Demo.Mixed_Name==0.3.post1', 'demo-a==1.0'])
})

P('compile pins the collected requirements; the second time it comes from the cache without a process', async () => {
  const nodes = [{ name: 'node-a', text: 'demo-a\n' }, { name: 'node-b', text: 'demo-c>=1\nDemo.Mixed_Name\n-e ./evil\n' }]
  const lines: string[] = []
  const r = await compile(compileOpts(collect(nodes), { onLine: l => lines.push(l) }))
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  if (!r.ok) return
  assert.equal(r.value.cached, false)
  assert.equal(r.value.pins, ['demo-a==1.0', 'demo-c==2.0', 'Demo.Mixed_Name==0.3.post1', 'demo-numpy==1.5'])
  assert.is(readFileSync(r.value.lockPath, 'utf8'), 'demo-a==1.0\ndemo-c==2.0\nDemo.Mixed_Name==0.3.post1\ndemo-numpy==1.5\n')
  assert.is(basename(r.value.lockPath), `${r.value.inputsHash}.txt`)
  assert.ok(lines.length > 0, 'pip output reaches onLine')
  assert.equal(readdirSync(join(cacheRoot, 'tmp')), [], 'no work folder is left behind')

  const before = spawns
  const again = await compile(compileOpts(collect(nodes)))
  assert.equal(again.ok && [again.value.cached, again.value.lockPath, again.value.lockHash], [true, r.value.lockPath, r.value.lockHash])
  assert.is(spawns, before, 'a cache hit starts no process')
  const other = compileInputsHash(compileOpts(collect([{ name: 'node-a', text: 'demo-a\n' }])))
  assert.is.not(other, r.value.inputsHash)
})

P('nothing to resolve: an empty lock, no process', async () => {
  const before = spawns
  const r = await compile(compileOpts(collect([{ name: 'empty', text: '# nothing\n' }])))
  assert.equal(r.ok && [r.value.pins, readFileSync(r.value.lockPath, 'utf8')], [[], ''])
  assert.is(spawns, before)
})

P('install puts the compiled versions into the environment, additively', async () => {
  // Something installed before and not in the lock must stay (never `sync`).
  const keep = await compile(compileOpts(collect([{ name: 'keeper', text: 'demo-keep' }])))
  assert.ok(keep.ok)
  if (!keep.ok) return
  const k = await installLock(installOpts(keep.value.lockPath))
  assert.equal(k.ok && k.value.installed, ['demo-keep==1.0'])

  const r = await compile(compileOpts(collect([{ name: 'node-a', text: 'demo-a\n' }, { name: 'node-b', text: 'demo-c>=1\n' }])))
  assert.ok(r.ok)
  if (!r.ok) return
  const lines: string[] = []
  const i = await installLock({ ...installOpts(r.value.lockPath), onLine: l => lines.push(l) })
  assert.ok(i.ok, i.ok ? '' : i.error.message)
  if (!i.ok) return
  assert.equal(i.value.installed.sort(), ['demo-a==1.0', 'demo-c==2.0', 'demo-numpy==1.5'])
  assert.equal(i.value.unchanged, [])
  const infos = distInfos()
  for (const d of ['demo_a-1.0.dist-info', 'demo_c-2.0.dist-info', 'demo_numpy-1.5.dist-info', 'demo_keep-1.0.dist-info']) assert.ok(infos.includes(d), `${d} in ${infos.join(', ')}`)
  assert.is(installedPackages(venvDir).get('demo-numpy'), '1.5')
  assert.is(await pyImport('import demo_a, demo_keep, demo_numpy; print(demo_numpy.__version__)'), '1.5')

  const again = await installLock(installOpts(r.value.lockPath))
  assert.equal(again.ok && [again.value.installed, again.value.unchanged.sort()], [[], ['demo-a==1.0', 'demo-c==2.0', 'demo-numpy==1.5']])
})

P('a failed install leaves the previous packages in place and importable', async () => {
  const lock = join(root, 'broken-lock.txt')
  writeFileSync(lock, 'demo-numpy==2.1\ndemo-missing==1.0\n')
  const r = await installLock(installOpts(lock))
  assert.equal(!r.ok && r.error.reason, 'failed')
  if (!r.ok) assert.match(r.error.message, /demo-missing/)
  assert.is(installedPackages(venvDir).get('demo-numpy'), '1.5')
  assert.is(await pyImport('import demo_numpy; print(demo_numpy.__version__)'), '1.5')
  const gone = await installLock(installOpts(join(root, 'no-such-lock.txt')))
  assert.equal(!gone.ok && gone.error.reason, 'failed')
})

P('a conflict between two node packs fails naming both nodes and both specs', async () => {
  const r = await compile(compileOpts(collect([{ name: 'node-a', text: 'demo-numpy<2\n' }, { name: 'node-b', text: 'demo-numpy>=2\n' }])))
  assert.is(r.ok, false)
  if (r.ok) return
  assert.is(r.error.reason, 'conflict')
  assert.equal(r.error.attribution, ['demo-numpy: node-a asks demo-numpy<2; node-b asks demo-numpy>=2'])
  assert.match(r.error.message, /node-a asks demo-numpy<2; node-b asks demo-numpy>=2/)
  assert.match(r.error.message, /on_conflict/)
  assert.equal(readdirSync(join(cacheRoot, 'tmp')), [])
})

P('a transitive conflict names the node packs behind each package', async () => {
  const r = await compile(compileOpts(collect([{ name: 'node-a', text: 'demo-a\n' }, { name: 'node-b', text: 'demo-b\n' }])))
  assert.equal(!r.ok && r.error.reason, 'conflict')
  if (r.ok) return
  assert.ok(r.error.attribution.includes('demo-a: node-a asks demo-a'), r.error.attribution.join('\n'))
  assert.ok(r.error.attribution.includes('demo-b: node-b asks demo-b'), r.error.attribution.join('\n'))
  assert.ok(r.error.attribution.some(l => /^demo-numpy: demo-a 1\.0 depends on demo-numpy<2 \(demo-a is asked for by node-a\)/.test(l)), r.error.attribution.join('\n'))
})

P('the core\'s requirements constrain the nodes', async () => {
  const c = collect([{ name: 'node-c', text: 'demo-c\n' }], { coreText: 'demo-c==1.0\n' })
  const r = await compile(compileOpts(c))
  assert.equal(r.ok && r.value.pins, ['demo-c==1.0'])
  const bad = await compile(compileOpts(collect([{ name: 'node-c', text: 'demo-c>=2\n' }], { coreText: 'demo-c==1.0\n' })))
  assert.equal(!bad.ok && bad.error.reason, 'conflict')
  if (!bad.ok) assert.match(bad.error.message, /demo-c: comfyui asks demo-c==1\.0; node-c asks demo-c>=2; comfyui constrains demo-c==1\.0/)
})

P('index_url is passed to pip (a file:// simple index, no --no-index)', async () => {
  const indexed = join(root, 'indexed')
  const whl = buildWheel(indexed, { name: 'demo-idx', version: '1.0' })
  const simple = join(root, 'simple', 'demo-idx')
  mkdirSync(simple, { recursive: true })
  writeFileSync(join(simple, 'index.html'), `<html><body><a href="${pathToFileURL(whl).href}">${basename(whl)}</a></body></html>\n`)
  const rules = PythonSchema.parse({ index_url: pathToFileURL(join(root, 'simple')).href })
  const c = collectRequirements({ nodes: [{ name: 'n', text: 'demo-idx' }], rules, installed: new Map() })
  const r = await compile(compileOpts(c, { rules, offline: false }))
  assert.equal(r.ok ? r.value.pins : r.error.message, ['demo-idx==1.0'])
})

P('timeout and cancellation kill the resolver and say so', async () => {
  const c = collect([{ name: 'slow', text: 'demo-c==1.0\n' }])
  const t = await compile(compileOpts(c, { timeoutMs: 1 }))
  assert.equal(!t.ok && t.error.reason, 'timeout')
  if (!t.ok) assert.match(t.error.message, /timed out after 0 s \(raise timeouts\.compile_s/)
  const ac = new AbortController()
  ac.abort()
  const x = await compile(compileOpts(c, { signal: ac.signal }))
  assert.equal(!x.ok && x.error.reason, 'cancelled')
  assert.equal(readdirSync(join(cacheRoot, 'tmp')), [])
  assert.not.ok(existsSync(join(cacheRoot, 'compiled', `${compileInputsHash(compileOpts(c))}.txt`)))
})

P('per-node fallback installs each node separately, with a warning', async () => {
  const lines: string[] = []
  const c = collect([{ name: 'node-a', text: 'demo-numpy<2\n' }, { name: 'node-b', text: 'demo-numpy>=2\n' }])
  const r = await installPerNode({ collected: c, backend, venvPython: python, rules: offlineRules, offline: true, cacheRoot, timeoutMs: 120_000, env, onLine: l => lines.push(l) })
  assert.ok(r.ok)
  if (!r.ok) return
  assert.equal(r.value.outcomes, [{ source: 'node-a', ok: true }, { source: 'node-b', ok: true }])
  assert.ok(r.value.installed.includes('demo-numpy==2.1'))
  assert.match(lines[0]!, /^warning: python\.on_conflict is "per-node"/)
  assert.is(installedPackages(venvDir).get('demo-numpy'), '2.1')
})

P('install.py runs with the environment\'s python, in the node\'s folder', async () => {
  const nodeDir = join(root, 'home', 'custom_nodes', 'Node-With-Script')
  mkdirSync(nodeDir, { recursive: true })
  writeFileSync(join(nodeDir, 'install.py'), [
    'import os, sys, shutil',
    'print("prefix", sys.prefix)',
    'print("cwd", os.getcwd())',
    'print("pip", shutil.which("pip"))',
    'print("token https://me:secret@host.example/x")',
    'open("installed.txt", "w").write(sys.executable)',
  ].join('\n'))
  const lines: string[] = []
  const r = await runInstallScript({ nodeDir, venvPython: python, timeoutMs: 60_000, env, onLine: l => lines.push(l) })
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  assert.ok(lines.includes(`prefix ${venvDir}`), lines.join('\n'))
  assert.ok(lines.includes(`cwd ${nodeDir}`), lines.join('\n'))
  assert.ok(lines.includes(`pip ${join(venvDir, 'bin', 'pip')}`), lines.join('\n'))
  assert.ok(lines.includes('token https://****@host.example/x'))
  assert.is(readFileSync(join(nodeDir, 'installed.txt'), 'utf8'), python)

  writeFileSync(join(nodeDir, 'install.py'), 'import sys\nprint("cannot build", file=sys.stderr)\nsys.exit(3)\n')
  const failed = await runInstallScript({ nodeDir, venvPython: python, timeoutMs: 60_000, env })
  assert.equal(!failed.ok && failed.error.reason, 'failed')
  if (!failed.ok) assert.match(failed.error.message, /Node-With-Script\/install\.py failed with exit code 3:\ncannot build/)
  rmSync(join(nodeDir, 'install.py'))
  const missing = await runInstallScript({ nodeDir, venvPython: python, timeoutMs: 60_000, env })
  assert.equal(!missing.ok && missing.error.reason, 'missing')
})

P.after(guarded(() => { rmSync(root, { recursive: true, force: true }) }))

F.run()
P.run()
