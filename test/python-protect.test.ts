/** The pure rules of issue 17: PEP 440 matching of installed builds, what is kept, families, node indexes, removals. */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { collectRequirements } from '../lib/python/collect.ts'
import { removals, nextRecord, uninstallArgs } from '../lib/python/clean-switch.ts'
import { decideProvided, protectMatcher, violationMessage, withProvided } from '../lib/python/protect.ts'
import { satisfies } from '../lib/python/specifier.ts'
import { parseRequirement } from '../lib/python/requirement.ts'
import { PythonSchema } from '../lib/spec/schema.ts'
import { verifyEnvironment } from '../lib/python/verify-env.ts'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeWorld } from './helpers/cli.ts'

const P = suite('protect, families, node indexes, clean switch (pure)')
const clauses = (spec: string) => parseRequirement(`x${spec}`)!.clauses
const rules = (o: object = {}) => PythonSchema.parse(o)
const dist = (name: string, version: string) => ({ name, version, infoDir: `/nowhere/${name}-${version}.dist-info` })
const collect = (nodes: [string, string][], o: object = {}) => collectRequirements({ nodes: nodes.map(([name, text]) => ({ name, text })), rules: rules(o), installed: new Map() })

P('an installed CUDA build against specifiers: the local label is ignored unless the specifier has one', () => {
  const v = '2.5.0+cu124'
  for (const [spec, want] of [['<2.6', true], ['>=2.6', false], ['==2.5.0', true], ['==2.5.0+cu124', true], ['==2.5.0+cu121', false], ['==2.5.*', true],
    ['~=2.5', true], ['~=2.4.0', false], ['!=2.5.0', false], ['>=2.0,<3', true], ['', true], ['>2.5.0', false], ['<=2.5.0', true]] as const) {
    assert.is(satisfies(v, clauses(spec)), want, `${v} ${spec}`)
  }
})

P('the default protect list covers torch and the nvidia-* family, by PEP 503 name', () => {
  const m = protectMatcher(rules().protect)
  for (const n of ['torch', 'Torch', 'torchvision', 'xformers', 'triton', 'nvidia-cudnn-cu12', 'nvidia_cublas_cu12']) assert.ok(m(n), n)
  for (const n of ['torchsde', 'numpy', 'nvidia']) assert.not.ok(m(n), n)
})

P('protected builds are kept, asks they do not satisfy are violations naming the node, and a spec pin lifts the protection', () => {
  const installed = [dist('torch', '2.5.0+cu124'), dist('numpy', '1.26.4')]
  const c = collect([['NodeX', 'torch>=2.6\n'], ['NodeY', 'torch<2.6\nnumpy\n']])
  const d = decideProvided({ rules: rules(), collected: c, environment: installed, base: [] })
  assert.equal(d.provided.map(p => [p.name, p.version, p.why]), [['torch', '2.5.0+cu124', 'protected']])
  assert.equal(d.violations, [{ name: 'torch', installed: '2.5.0+cu124', source: 'NodeX', spec: 'torch>=2.6' }])
  const msg = violationMessage(d.violations)
  assert.match(msg, /NodeX asks torch>=2\.6, but torch 2\.5\.0\+cu124 is installed and protected/)
  assert.match(msg, /pin it in python\.requirements \(e\.g\. "torch>=2\.6"\)/)
  const pinned = decideProvided({ rules: rules({ requirements: ['torch>=2.6'] }), collected: collect([['NodeX', 'torch>=2.6\n']], { requirements: ['torch>=2.6'] }), environment: installed, base: [] })
  assert.equal([pinned.provided, pinned.violations], [[], []])
  assert.equal(withProvided(c, d.provided).constraints.slice(-1), ['torch==2.5.0+cu124'])
  assert.equal(withProvided(c, d.provided).constraintSources.torch, [{ source: 'python.protect (installed)', spec: 'torch==2.5.0+cu124' }])
})

P('system site packages: a base package is kept when asked and every ask fits; otherwise the environment gets its own', () => {
  const base = [dist('numpy', '1.26.4'), dist('pillow', '10.0.0'), dist('requests', '2.31.0')]
  const d = decideProvided({ rules: rules(), collected: collect([['A', 'numpy>=1.20\npillow>=11\n'], ['B', 'numpy<2\n']]), environment: [], base })
  assert.equal(d.provided.map(p => [p.name, p.why, p.from]), [['numpy', 'base', 'base']])
  assert.equal(d.violations, [])
})

P('one module per import name: contrib over plain, GPU over CPU, headless only when every asker is headless, a spec pin wins', () => {
  const cv = collect([['NodeB', 'opencv-python>=4.8\n'], ['NodeC', 'opencv-contrib-python\n']])
  assert.equal(cv.requirements.map(r => r.spec), ['opencv-contrib-python>=4.8', 'opencv-contrib-python'])
  assert.equal(cv.families.map(f => [f.module, f.chosen, f.rule]), [['cv2', 'opencv-contrib-python', 'contrib over plain']])
  assert.equal(cv.families[0]!.asks, [{ source: 'NodeB', spec: 'opencv-python>=4.8' }, { source: 'NodeC', spec: 'opencv-contrib-python' }])
  const headless = collect([['A', 'opencv-python-headless\n'], ['B', 'opencv-contrib-python-headless==4.9.0.80\n']])
  assert.equal(headless.families[0]!.chosen, 'opencv-contrib-python-headless')
  const mixed = collect([['A', 'opencv-python-headless\n'], ['B', 'opencv-python\n']])
  assert.equal([mixed.families[0]!.chosen, mixed.families[0]!.rule], ['opencv-python', 'headless only when every asker is headless'])
  const onnx = collect([['A', 'onnxruntime>=1.17\n'], ['B', 'onnxruntime-gpu\n']])
  assert.equal([onnx.families[0]!.chosen, onnx.requirements.map(r => r.spec)], ['onnxruntime-gpu', ['onnxruntime-gpu>=1.17', 'onnxruntime-gpu']])
  const pinned = collect([['A', 'onnxruntime-gpu\n']], { requirements: ['onnxruntime==1.18.0'] })
  assert.equal([pinned.families[0]!.chosen, pinned.families[0]!.rule], ['onnxruntime', 'named in python.requirements'])
  assert.equal(pinned.requirements.map(r => r.spec), ['onnxruntime==1.18.0', 'onnxruntime'])
  assert.equal(collect([['A', 'opencv-python\n']]).families, [], 'one member asked: nothing to choose')
})

P('node_indexes: "allow" uses a node\'s index and says who added it; "deny" reports it and does not use it', () => {
  const text = '--extra-index-url https://u:s3cret@pkgs.example/simple\ndemo-a\n'
  const allow = collect([['NodeI', text]])
  assert.equal(allow.extraIndexUrls, ['https://u:s3cret@pkgs.example/simple'])
  assert.equal(allow.indexSources, { 'https://u:s3cret@pkgs.example/simple': ['NodeI'] })
  const deny = collect([['NodeI', text]], { node_indexes: 'deny' })
  assert.equal([deny.extraIndexUrls, deny.indexUrls], [[], []])
  assert.equal(deny.deniedIndexes.length, 1)
  assert.equal(deny.deniedIndexes[0]!.sources, ['NodeI'])
  assert.not.match(deny.deniedIndexes[0]!.url, /s3cret/)
  assert.ok(deny.notes.some(n => /NodeI: index https:\/\/.*pkgs\.example\/simple is not used \(python\.node_indexes is "deny"\)/.test(n) && !n.includes('s3cret')), deny.notes.join('\n'))
})

P('a switch removes only what the tool installed and the lock dropped: never protected, never hand-installed; family members first', () => {
  const record = { 'demo-old': '1.0', 'demo-common': '1.0', torch: '2.5.0', 'opencv-python': '4.9.0.80' }
  const installed = new Map(Object.entries({ ...record, 'demo-hand': '1.0' }))
  const r = removals({ record, pins: ['demo-common==1.0', 'opencv-contrib-python==4.9.0.80'], installed, protect: rules().protect })
  assert.equal(r, { before: ['opencv-python'], after: ['demo-old'] })
  const next = nextRecord({ record, pins: ['demo-common==1.0', 'opencv-contrib-python==4.9.0.80'], kept: [], installed: new Map([...installed, ['opencv-contrib-python', '4.9.0.80']]), protect: rules().protect })
  assert.equal(next, { 'demo-common': '1.0', 'opencv-contrib-python': '4.9.0.80', torch: '2.5.0' })
  assert.equal(uninstallArgs('pip', '/h/.venv/bin/python', ['a']), ['uninstall', '-y', '--disable-pip-version-check', 'a'])
  assert.equal(uninstallArgs('uv', '/h/.venv/bin/python', ['a']), ['pip', 'uninstall', '--python', '/h/.venv/bin/python', 'a'])
})

P('verify: a recorded distribution the lock dropped is extra; a kept build changed is drift; hand-installed ones are no rows', async () => {
  const root = mkdtempSync(join(tmpdir(), 'comfy-vc-verify-env-'))
  try {
    const site = join(root, '.venv', 'lib', 'python3.11', 'site-packages')
    for (const d of ['demo_a-1.0', 'demo_old-1.0', 'demo_hand-1.0', 'torch-2.6.0']) mkdirSync(join(site, `${d}.dist-info`), { recursive: true })
    const lock = join(root, 'lock.txt')
    writeFileSync(lock, 'demo-a==1.0\ntorch==2.5.0+cu124\n')
    const rows = await verifyEnvironment(join(root, '.venv'), lock, {
      record: { 'demo-a': '1.0', 'demo-old': '1.0' }, protect: rules().protect,
      kept: [{ name: 'torch', version: '2.5.0+cu124', why: 'protected', from: 'environment' }],
    })
    assert.equal(rows.map(r => [r.id, r.status]), [['python:demo-a', 'ok'], ['python:torch', 'drift'], ['python:demo-old', 'extra']])
    assert.match(rows[1]!.detail!, /protected torch was 2\.5\.0\+cu124 when the lock was made; 2\.6\.0 is installed now/)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

P('bad python fields of issue 17: each named with the file and its JSON path, exit 2, no stack', async () => {
  const w = await makeWorld('comfy-vc-bad-python-')
  try {
    await w.writeSpec('bad', { schema_version: 2, id: 'bad', comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI' },
      python: { protect: ['torch', '../x'], index_strategy: 'best', node_indexes: 'maybe', system_site_packages: 'yes' } })
    const r = await w.cli(['validate', 'bad'])
    assert.is(r.code, 2, r.stderr)
    for (const path of ['python.protect[1]', 'python.index_strategy', 'python.node_indexes', 'python.system_site_packages']) {
      assert.match(r.stderr, new RegExp(`bad\\.json: ${path.replace(/[.[\]]/g, '\\$&')}: `), path)
    }
    assert.match(r.stderr, /"first-index", "unsafe-first-match" or "unsafe-best-match"/)
    assert.not.match(r.stderr, /\n\s+at /, 'no stack')
  } finally {
    await w.cleanup()
  }
})

P.run()
