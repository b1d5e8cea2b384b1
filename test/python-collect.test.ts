import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { collectRequirements, collectedSummary, downgradeInputs, renderConstraints, renderRequirementsIn, type CollectInput } from '../lib/python/collect.ts'
import { attributeConflict, parseResolverError } from '../lib/python/conflict.ts'
import { downgradeReason } from '../lib/python/downgrade.ts'
import { compareVersionText, normalizeName } from '../lib/python/pep440.ts'
import { decodeRequirements, logicalLines } from '../lib/python/read-requirements.ts'
import { parseRequirement } from '../lib/python/requirement.ts'
import { sanitizeLine } from '../lib/python/sanitize.ts'
import { PythonSchema } from '../lib/spec/schema.ts'

const rules = (r: Record<string, unknown> = {}) => PythonSchema.parse(r)
const collect = (nodes: CollectInput['nodes'], extra: Partial<CollectInput> = {}) =>
  collectRequirements({ nodes, rules: rules(), installed: new Map(), ...extra })
const one = (text: string, extra: Partial<CollectInput> = {}) => collect([{ name: 'node-a', text }], extra)
const reasonOf = (line: string) => { const s = sanitizeLine(line); return s.kind === 'rejected' ? s.reason : undefined }

// --- sanitizer ---

const S = suite('sanitize')

const dangerous: [string, RegExp][] = [
  ['-r other.txt', /-r: includes another requirements file/],
  ['numpy -r other.txt', /-r: includes another requirements file/],
  ['-rother.txt', /-r:/],
  ['--requirement other.txt', /--requirement/],
  ['numpy --requirement=other.txt', /--requirement/],
  ['-e .', /-e: installs an editable/],
  ['-e git+https://github.com/a/b.git#egg=b', /-e: installs an editable/],
  ['numpy -e .', /-e:/],
  ['--editable ./x', /--editable/],
  ['-c constraints.txt', /-c: includes a constraints file/],
  ['numpy -c constraints.txt', /-c:/],
  ['-cconstraints.txt', /-c:/],
  ['--constraint c.txt', /--constraint/],
  ['-f https://download.pytorch.org/whl/torch_stable.html', /-f: adds a package source/],
  ['-fhttps://download.pytorch.org/whl/torch_stable.html', /-f: adds a package source/],
  ['torch -f https://download.pytorch.org/whl/torch_stable.html', /-f:/],
  ['torch==2.1 -fhttps://x.example/whl', /-f:/],
  ['--find-links https://x.example', /--find-links/],
  ['--find-links=https://x.example', /--find-links/],
  ['pkg --find-links https://x.example', /--find-links/],
  ['--trusted-host pypi.example', /--trusted-host: turns off TLS verification/],
  ['pkg --trusted-host pypi.example', /--trusted-host/],
  ['--global-option=--no-user-cfg', /--global-option/],
  ['pkg --global-option="--x"', /--global-option/],
  ['--install-option --prefix=/x', /--install-option/],
  ['pkg --install-option=--prefix=/x', /--install-option/],
  ['pkg @ file:///tmp/pkg.whl', /local file \(@ file:\/\/\)/],
  ['pkg@file:///tmp/pkg', /local file/],
  ['pkg @ ./vendor/pkg', /local path after @/],
  ['./local/pkg', /path separator/],
  ['../pkg', /path separator/],
  ['/abs/pkg', /path separator/],
  ['local/pkg', /path separator/],
  ['C:\\pkgs\\x', /path separator/],
  ['.', /path separator/],
  ['git+ssh://git@github.com/openai/CLIP.git', /only git\+https:\/\/ is allowed/],
  ['git+file:///srv/CLIP', /only git\+https:\/\/ is allowed/],
  ['clip @ git+ssh://git@github.com/openai/CLIP.git', /only git\+https:\/\/ is allowed/],
  ['-i=https://mirror.example/simple', /-i=… is not how pip reads a short option .*write -i URL or --index-url=URL/],
  ['https://files.example/pkg-1.0-py3-none-any.whl', /URL without a package name/],
  ['pkg-1.0-py3-none-any.whl', /local archive/],
  ['--pre', /unsupported option --pre/],
  ['pkg --no-binary :all:', /unsupported option --no-binary/],
  ['-x', /unsupported option -x/],
  ['pkg ${HF_TOKEN}', /environment variable/],
  ['--extra-index-url https://x/${HF_TOKEN}/simple', /environment variable/],
  ['--index-url', /--index-url without a value/],
  ['--extra-index-url file:///srv/simple', /must be an http\(s\):\/\/ URL/],
  ['foo bar', /not a valid requirement/],
  ['numpy>=', /not a valid requirement/],
]
for (const [line, re] of dangerous) {
  S(`rejects ${line}`, () => {
    const reason = reasonOf(line)
    assert.ok(reason, `expected "${line}" to be rejected`)
    assert.match(reason!, re)
  })
}

const accepted: [string, string | undefined][] = [
  ['re-crypto', 're-crypto'],
  ['c-r-e', 'c-r-e'],
  ['pkg[extra-c]', 'pkg[extra-c]'],
  ['pkg[extra-c,-e]', undefined],   // not valid PEP 508 extras: rejected, not taken for options
  ['pkg [extra-r] >= 1.0', 'pkg [extra-r] >= 1.0'],
  ['numpy >= 1.0, < 2', 'numpy >= 1.0, < 2'],
  ['pkg; python_version < "3.12"', 'pkg; python_version < "3.12"'],
  ['pkg>=1 ; extra == "-c"', 'pkg>=1 ; extra == "-c"'],
  ['clip @ git+https://github.com/openai/CLIP.git', 'clip @ git+https://github.com/openai/CLIP.git'],
  // Bare VCS lines as WAS Node Suite and ComfyUI-3D-Pack write them go to the resolver as written.
  ['git+https://github.com/WASasquatch/img2texture.git', 'git+https://github.com/WASasquatch/img2texture.git'],
  ['git+https://github.com/a/b.git@0123456789abcdef0123456789abcdef01234567#egg=bee', 'git+https://github.com/a/b.git@0123456789abcdef0123456789abcdef01234567#egg=bee'],
  ['pkg @ https://files.example/pkg-1.0-py3-none-any.whl ; sys_platform == "linux"', 'pkg @ https://files.example/pkg-1.0-py3-none-any.whl ; sys_platform == "linux"'],
  ['opencv-python-headless>=4.8.0.74', 'opencv-python-headless>=4.8.0.74'],
]
for (const [line, text] of accepted) {
  S(`accepts ${line}`, () => {
    const s = sanitizeLine(line)
    if (text === undefined) { assert.is(s.kind, 'rejected'); return }
    assert.is(s.kind, 'accepted', JSON.stringify(s))
    if (s.kind === 'accepted') assert.is(s.requirement?.text, text)
  })
}

S('splits --index-url and --extra-index-url, standalone, after a package and several per line', () => {
  const a = sanitizeLine('--index-url https://a.example/simple')
  assert.equal(a.kind === 'accepted' && [a.requirement, a.indexUrls, a.extraIndexUrls], [undefined, ['https://a.example/simple'], []])
  const b = sanitizeLine('--extra-index-url=https://b.example/simple')
  assert.equal(b.kind === 'accepted' && b.extraIndexUrls, ['https://b.example/simple'])
  const c = sanitizeLine('torch==2.3 --index-url https://c.example/cu121 --extra-index-url https://d.example/simple --extra-index-url=https://e.example/simple')
  assert.ok(c.kind === 'accepted')
  if (c.kind !== 'accepted') return
  assert.is(c.requirement?.text, 'torch==2.3')
  assert.equal(c.indexUrls, ['https://c.example/cu121'])
  assert.equal(c.extraIndexUrls, ['https://d.example/simple', 'https://e.example/simple'])
  const d = sanitizeLine('-i https://f.example/simple')
  assert.equal(d.kind === 'accepted' && d.indexUrls, ['https://f.example/simple'])
  const e = sanitizeLine('pkg --hash=sha256:0123')
  assert.equal(e.kind === 'accepted' && [e.requirement?.text, e.dropped], ['pkg', ['--hash=sha256:0123']])
})

// --- requirement parsing, versions, downgrade blacklist ---

const P = suite('pep508 and pep440')

P('parses names, extras, clauses, URLs and markers', () => {
  const r = parseRequirement('Pillow_SIMD[a,b] >=9.0,<11 ; python_version<"3.12"')!
  assert.equal([r.name, r.key, r.extras, r.clauses, r.marker], ['Pillow_SIMD', 'pillow-simd', ['a', 'b'], [{ op: '>=', version: '9.0' }, { op: '<', version: '11' }], 'python_version<"3.12"'])
  const u = parseRequirement('clip @ git+https://github.com/openai/CLIP.git ; sys_platform=="linux"')!
  assert.equal([u.url, u.marker], ['git+https://github.com/openai/CLIP.git', 'sys_platform=="linux"'])
  assert.is(parseRequirement('numpy (>=1.2)')?.clauses[0]?.version, '1.2')
  assert.is(parseRequirement('numpy >>1'), undefined)
})

P('orders versions by PEP 440', () => {
  const order = ['1.0.dev1', '1.0a1', '1.0b2', '1.0rc1', '1.0', '1.0+cu121', '1.0.post1', '1.1', '2!0.1']
  for (let i = 1; i < order.length; i++) assert.ok(compareVersionText(order[i - 1]!, order[i]!)! < 0, `${order[i - 1]} < ${order[i]}`)
  assert.is(compareVersionText('1.0.0', '1'), 0)
  assert.is(compareVersionText('1.10', '1.9')! > 0, true)
  assert.is(normalizeName('Foo__Bar.baz'), 'foo-bar-baz')
})

const D = suite('downgrade blacklist')
const installedTorch = '2.5.1'
const downgrade: [string, boolean][] = [
  ['torch', true], ['torch[cuda]', true],
  ['torch<2.4', true], ['torch<2.5.1', true], ['torch<2.6', false],
  ['torch<=2.4', true], ['torch<=2.5.1', false],
  ['torch==2.4.0', true], ['torch==2.5.1', false], ['torch==2.6', false],
  ['torch==2.4.*', true], ['torch==2.*', false],
  ['torch~=2.4.0', true], ['torch~=1.13', true], ['torch~=2.0', false], ['torch~=2.5', false],
  ['torch>=2.6', false], ['torch>2.0', false], ['torch!=2.5.1', false], ['torch>=2.0,<2.3', true],
]
for (const [spec, blocked] of downgrade) {
  D(`${spec} with torch ${installedTorch} installed is ${blocked ? 'blocked' : 'allowed'}`, () => {
    const reason = downgradeReason(parseRequirement(spec)!, installedTorch)
    assert.is(reason !== undefined, blocked, reason)
  })
}
D('a package that is not installed is never blocked; local labels do not count', () => {
  assert.is(downgradeReason(parseRequirement('torch<2')!, undefined), undefined)
  assert.is(downgradeReason(parseRequirement('torch==2.5.1')!, '2.5.1+cu121'), undefined)
  assert.ok(downgradeReason(parseRequirement('torch==2.4')!, '2.5.1+cu121'))
})

// --- collection ---

const C = suite('collect')

C('collects every node, keeps attribution, drops comments and blank lines', () => {
  const c = collect([
    { name: 'node-a', text: '# deps\n\nnumpy<2  # old API\nPillow>=9\n' },
    { name: 'node-b', text: 'numpy>=2\nscipy\n' },
  ])
  assert.equal(c.requirements.map(r => `${r.source}:${r.spec}`), ['node-a:numpy<2', 'node-a:Pillow>=9', 'node-b:numpy>=2', 'node-b:scipy'])
  assert.equal(c.sources.numpy, [{ source: 'node-a', spec: 'numpy<2' }, { source: 'node-b', spec: 'numpy>=2' }])
  assert.equal(c.sources.pillow, [{ source: 'node-a', spec: 'Pillow>=9' }])
  assert.equal(c.skipped, [])
  assert.is(renderRequirementsIn(c), 'numpy<2\nPillow>=9\nnumpy>=2\nscipy\n')
})

C('git+https:// lines are collected as written, named for attribution, and reported when no commit pins them', () => {
  const pinned = 'git+https://github.com/a/b.git@0123456789abcdef0123456789abcdef01234567#egg=bee'
  const c = collect([{ name: 'was-node-suite', text: `git+https://github.com/WASasquatch/img2texture.git\n${pinned}\nclip @ git+https://github.com/openai/CLIP.git\n` }])
  assert.equal(c.requirements.map(r => [r.name, r.spec]), [
    ['img2texture', 'git+https://github.com/WASasquatch/img2texture.git'], ['bee', pinned], ['clip', 'clip @ git+https://github.com/openai/CLIP.git']])
  assert.equal(c.skipped, [])
  assert.equal(c.unpinnedVcs, [
    { source: 'was-node-suite', requirement: 'git+https://github.com/WASasquatch/img2texture.git' },
    { source: 'was-node-suite', requirement: 'clip @ git+https://github.com/openai/CLIP.git' }])
  assert.ok(c.notes.includes('was-node-suite: "git+https://github.com/WASasquatch/img2texture.git" is a VCS requirement not pinned to a commit (add @<40-hex commit> to the URL to pin it)'), c.notes.join('\n'))
})

C('an empty file and a node without requirements.txt collect nothing', () => {
  const c = collect([{ name: 'a', text: '' }, { name: 'b' }, { name: 'c', text: '\n# only a comment\n' }])
  assert.equal([c.requirements, c.skipped, renderRequirementsIn(c)], [[], [], ''])
})

C('the same spec from two nodes is given once, attributed to both', () => {
  const c = collect([{ name: 'a', text: 'torchsde' }, { name: 'b', text: 'torchsde\n' }])
  assert.is(renderRequirementsIn(c), 'torchsde\n')
  assert.equal(c.sources.torchsde!.map(s => s.source), ['a', 'b'])
})

C('disabled nodes are not collected', () => {
  const c = collect([{ name: 'on', text: 'numpy' }, { name: 'off', text: 'scipy\n-r evil.txt', enabled: false }])
  assert.equal(Object.keys(c.sources), ['numpy'])
  assert.equal(c.skipped, [])
})

C('skipped lines name their node, line number and reason, with credentials redacted', () => {
  const c = one('numpy\n-f https://user:hunter2@wheels.example/x\npkg @ file:///home/me/pkg.whl\n./vendored\nre-crypto\n')
  assert.equal(c.skipped.map(s => [s.source, s.lineNo, s.line]), [
    ['node-a', 2, '-f https://****@wheels.example/x'],
    ['node-a', 3, 'pkg @ file:///home/me/pkg.whl'],
    ['node-a', 4, './vendored'],
  ])
  assert.match(c.skipped[0]!.reason, /-f/)
  assert.not.match(JSON.stringify(c), /hunter2/)
  assert.equal(Object.keys(c.sources), ['numpy', 're-crypto'])
})

C('index URLs from nodes: standalone, after a package, several per line; redacted in notes and summary', () => {
  const c = collect([
    { name: 'torch-node', text: '--extra-index-url https://download.pytorch.org/whl/cu121\ntorch --index-url https://tok:s3cret@mirror.example/simple\n' },
    { name: 'other', text: 'xformers --extra-index-url https://a.example/simple --extra-index-url https://b.example/simple\n--extra-index-url https://download.pytorch.org/whl/cu121\n' },
  ])
  assert.equal(c.indexUrls, ['https://tok:s3cret@mirror.example/simple'])
  assert.equal(c.extraIndexUrls, ['https://download.pytorch.org/whl/cu121', 'https://a.example/simple', 'https://b.example/simple'])
  assert.equal(c.requirements.map(r => r.spec), ['torch', 'xformers'])
  assert.not.match(c.notes.join('\n'), /s3cret/)
  assert.match(c.notes.join('\n'), /torch-node: --index-url https:\/\/\*\*\*\*@mirror\.example\/simple is used as an extra index/)
  assert.not.match(JSON.stringify(collectedSummary(c)), /s3cret/)
})

C('line continuations, CRLF and URL fragments', () => {
  const c = one('numpy>=1.0,\\\r\n  <2\r\npkg @ https://x.example/pkg-1.0.whl#sha256=abc\r\n')
  assert.equal(c.requirements.map(r => r.spec), ['numpy>=1.0, <2', 'pkg @ https://x.example/pkg-1.0.whl#sha256=abc'])
  assert.equal(logicalLines('a \\\n b # c\n#x\nd').map(l => [l.line, l.lineNo]), [['a  b', 1], ['d', 4]])
})

C('environment markers are kept', () => {
  const c = one('pywin32; sys_platform == "win32"\nnumpy<2; python_version < "3.12"\n')
  assert.equal(c.requirements.map(r => [r.name, r.spec]), [['pywin32', 'pywin32; sys_platform == "win32"'], ['numpy', 'numpy<2; python_version < "3.12"']])
})

C('overrides match the exact line (seed 004): markers kept, empty removes, unsafe values refused, other lines untouched', () => {
  const c = one('numpy\nopencv-python>=4.5\nopencv-python\nonnxruntime; sys_platform == "linux"\nmediapipe\nfoo\n', {
    rules: rules({ overrides: { numpy: 'numpy<2', 'opencv-python': 'opencv-python-headless', 'opencv-python>=4.5': 'opencv-python-headless>=4.5', onnxruntime: 'onnxruntime-gpu', mediapipe: '', foo: '-e ./foo' } }),
  })
  assert.equal(c.requirements.map(r => r.spec), ['numpy<2', 'opencv-python-headless>=4.5', 'opencv-python-headless', 'onnxruntime-gpu; sys_platform == "linux"'])
  assert.equal(c.skipped.map(s => [s.line, s.reason.slice(0, 24)]), [['mediapipe', 'removed by python.overri'], ['foo', 'python.overrides maps it']])
  assert.match(c.notes.join('\n'), /"opencv-python>=4.5" remapped to "opencv-python-headless>=4.5"/)
})

C('a bare-name override leaves a line with bounds as it is (ComfyUI-Manager\'s template and LayerStyle)', () => {
  const c = one('huggingface_hub>=0.23.4\nhuggingface_hub\n', { rules: rules({ overrides: { huggingface_hub: 'huggingface-hub' } }) })
  assert.equal(c.requirements.map(r => r.spec), ['huggingface_hub>=0.23.4', 'huggingface-hub'])
})

C('blacklist matches normalized names, after overrides', () => {
  const c = one('Torch_Audio\ntorchaudio>=2\nnumpy\nfoo\n', { rules: rules({ blacklist: ['torch-audio', 'TorchAudio', 'bar'], overrides: { foo: 'bar==1' } }) })
  assert.equal(c.requirements.map(r => r.spec), ['numpy'])
  assert.equal(c.skipped.map(s => s.line), ['Torch_Audio', 'torchaudio>=2', 'foo'])
  assert.match(c.skipped[0]!.reason, /blacklisted/)
})

C('downgrade blacklist compares against the installed versions it is given', () => {
  const installed = new Map([['torch', '2.5.1'], ['transformers', '4.46.0']])
  const c = one('torch\ntorch<2.4\ntorch>=2.0\ntransformers==4.30.0\ntransformers>=4.40\nkornia<0.7\nsafetensors\n', {
    rules: rules({ downgrade_blacklist: ['torch', 'transformers', 'kornia', 'safetensors'] }), installed,
  })
  assert.equal(c.requirements.map(r => r.spec), ['torch>=2.0', 'transformers>=4.40', 'kornia<0.7', 'safetensors'])
  assert.equal(c.skipped.map(s => s.line), ['torch', 'torch<2.4', 'transformers==4.30.0'])
  assert.match(c.skipped[1]!.reason, /downgrade blacklisted: torch 2\.5\.1 is installed and <2\.4 would downgrade it/)
  assert.equal(downgradeInputs(rules({ downgrade_blacklist: ['Torch', 'kornia'] }), installed), { kornia: null, torch: '2.5.1' })
})

C('the core is collected as requirements and as constraints (no extras, bare names dropped)', () => {
  const c = collect([{ name: 'node-a', text: 'numpy<2\n' }], { coreText: 'torch\nnumpy==1.26.4\nsafetensors[torch]>=0.4.2\n-r evil.txt\n' })
  assert.equal(c.constraints, ['numpy==1.26.4', 'safetensors>=0.4.2'])
  assert.is(renderConstraints(c), 'numpy==1.26.4\nsafetensors>=0.4.2\n')
  assert.equal(c.constraintSources.numpy, [{ source: 'comfyui', spec: 'numpy==1.26.4' }])
  assert.equal(c.sources.numpy, [{ source: 'comfyui', spec: 'numpy==1.26.4' }, { source: 'node-a', spec: 'numpy<2' }])
  assert.equal(c.skipped.map(s => [s.source, s.line]), [['comfyui', '-r evil.txt']])
})

C('the spec\'s requirements and constraints are sanitized but not blacklisted', () => {
  const c = collect([{ name: 'n', text: 'torch' }], {
    rules: rules({ requirements: ['torch==2.5.1', '-e ./x'], constraints: ['numpy<2', 'pillow'], blacklist: ['torch'] }),
  })
  assert.equal(c.requirements.map(r => `${r.source}:${r.spec}`), ['spec:torch==2.5.1'])
  assert.equal(c.constraints, ['numpy<2'])
  assert.equal(c.skipped.map(s => [s.source, s.line]), [['spec', '-e ./x'], ['n', 'torch']])
})

C('bytes: UTF-8 with BOM, UTF-16 with and without BOM, Latin-1', () => {
  const text = 'numpy<2\n# café\nscipy\n'
  const utf16le = Buffer.from(text, 'utf16le')
  const utf16be = Buffer.from(utf16le).swap16()
  const cases: [string, Uint8Array][] = [
    ['utf-8', Buffer.from(text)],
    ['utf-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    ['utf-16le BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le])],
    ['utf-16be BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be])],
    ['utf-16le', utf16le],
    ['latin-1', Buffer.from(text, 'latin1')],
  ]
  for (const [what, bytes] of cases) {
    assert.is(decodeRequirements(bytes), text, what)
    const c = collect([{ name: 'n', text: bytes }])
    assert.equal(c.requirements.map(r => r.spec), ['numpy<2', 'scipy'], what)
  }
  assert.equal(collect([{ name: 'n', text: '\uFEFFnumpy\n' }]).requirements.map(r => r.spec), ['numpy'])
})

// --- resolver errors and attribution ---

const R = suite('conflict attribution')

const pipUserConflict = `Looking in links: /tmp/wheels
Processing /tmp/wheels/demo_numpy-1.5-py3-none-any.whl (from -r requirements.in (line 1))
ERROR: Cannot install demo-numpy<2 and demo-numpy>=2 because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested demo-numpy<2
    The user requested demo-numpy>=2

To fix this you could try to:
1. loosen the range of package versions you've specified
2. remove package versions to allow pip attempt to solve the dependency conflict

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts`

const pipTransitive = `ERROR: Cannot install -r requirements.in (line 1) and -r requirements.in (line 2) because these package versions have conflicting dependencies.

The conflict is caused by:
    demo-a 1.0 depends on demo-numpy<2
    demo-b 1.0 depends on demo-numpy>=2

To fix this you could try to:
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts`

const uvDirect = `  × No solution found when resolving dependencies:
  ╰─▶ Because you require numpy<2 and numpy>=2, we can conclude that your requirements are unsatisfiable.`

const uvTransitive = `  × No solution found when resolving dependencies:
  ╰─▶ Because demo-a==1.0 depends on numpy<2 and only demo-a==1.0 is available, we can conclude that all versions of demo-a depend on numpy<2.
      And because demo-b==1.0 depends on numpy>=2 and you require demo-a and demo-b, we can conclude that your requirements are unsatisfiable.

      hint: Pre-releases are available for demo-b in the requested range`

const deps = collect([
  { name: 'node-a', text: 'demo-numpy<2\ndemo-a\nnumpy<2' },
  { name: 'node-b', text: 'demo-numpy>=2\ndemo-b\nnumpy>=2' },
])

R('pip: two node packs asking for incompatible versions', () => {
  const e = parseResolverError(pipUserConflict)
  assert.is(e.conflict, true)
  assert.equal(e.names, ['demo-numpy'])
  assert.equal(attributeConflict(e, deps), ['demo-numpy: node-a asks demo-numpy<2; node-b asks demo-numpy>=2'])
})

R('pip: a transitive conflict, with "-r file (line N)" mapped back to the requirement', () => {
  const e = parseResolverError(pipTransitive, ['demo-a', 'demo-b'])
  assert.is(e.conflict, true)
  assert.equal(e.names, ['demo-a', 'demo-b', 'demo-numpy'])
  assert.equal(attributeConflict(e, deps), [
    'demo-a: node-a asks demo-a',
    'demo-b: node-b asks demo-b',
    'demo-numpy: node-a asks demo-numpy<2; node-b asks demo-numpy>=2; demo-a 1.0 depends on demo-numpy<2 (demo-a is asked for by node-a); demo-b 1.0 depends on demo-numpy>=2 (demo-b is asked for by node-b)',
  ])
})

R('pip: a constraint from the core is named', () => {
  const c = collect([{ name: 'node-a', text: 'numpy>=2' }], { coreText: 'numpy==1.26.4' })
  const e = parseResolverError(`ERROR: Cannot install numpy>=2 because these package versions have conflicting dependencies.
The conflict is caused by:
    The user requested numpy>=2
    The user requested (constraint) numpy==1.26.4
`)
  assert.equal(attributeConflict(e, c), ['numpy: comfyui asks numpy==1.26.4; node-a asks numpy>=2; comfyui constrains numpy==1.26.4'])
})

R('pip: a missing package is not a conflict but is attributed', () => {
  const e = parseResolverError('ERROR: Could not find a version that satisfies the requirement demo-gone>=3 (from versions: 1.0)\nERROR: No matching distribution found for demo-gone>=3')
  assert.is(e.conflict, false)
  assert.equal(attributeConflict(e, one('demo-gone>=3')), ['demo-gone: node-a asks demo-gone>=3'])
})

R('uv: direct conflict', () => {
  const e = parseResolverError(uvDirect)
  assert.is(e.conflict, true)
  assert.equal(e.names, ['numpy'])
  assert.equal(attributeConflict(e, deps), ['numpy: node-a asks numpy<2; node-b asks numpy>=2'])
})

R('uv: "you require A and you require B" (older uv wording)', () => {
  const e = parseResolverError(`  × No solution found when resolving dependencies:
  ╰─▶ Because you require numpy==1.26.4 and you require numpy>=2, we can conclude that the requirements are unsatisfiable.`)
  assert.equal(e.names, ['numpy'])
  const c = collect([{ name: 'node-a', text: 'numpy==1.26.4' }, { name: 'node-b', text: 'numpy>=2' }])
  assert.equal(attributeConflict(e, c), ['numpy: node-a asks numpy==1.26.4; node-b asks numpy>=2'])
})

R('uv: transitive conflict through two packages', () => {
  const e = parseResolverError(uvTransitive)
  assert.is(e.conflict, true)
  assert.equal(e.edges.map(x => [x.from, x.fromVersion, x.to, x.requirement]), [
    ['demo-a', '==1.0', 'numpy', 'numpy<2'], ['demo-b', '==1.0', 'numpy', 'numpy>=2'],
  ])
  assert.equal(attributeConflict(e, deps), [
    'demo-a: node-a asks demo-a',
    'numpy: node-a asks numpy<2; node-b asks numpy>=2; demo-a 1.0 depends on numpy<2 (demo-a is asked for by node-a); demo-b 1.0 depends on numpy>=2 (demo-b is asked for by node-b)',
    'demo-b: node-b asks demo-b',
  ])
  assert.not.ok(e.causes.some(c => c.startsWith('hint')))
})

R('attribution lines are redacted', () => {
  const c = one('pkg @ https://user:tok3n@files.example/pkg.whl')
  const e = parseResolverError('ERROR: No matching distribution found for pkg')
  assert.not.match(attributeConflict(e, c).join('\n'), /tok3n/)
})

S.run()
P.run()
D.run()
C.run()
R.run()
