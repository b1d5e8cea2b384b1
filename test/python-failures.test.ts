import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { detectBackend, type Backend } from '../lib/python/backend.ts'
import { collectRequirements, type CollectInput } from '../lib/python/collect.ts'
import { compile, type CompileOptions } from '../lib/python/compile.ts'
import { classifyFailure, type FailureClass } from '../lib/python/failure-class.ts'
import { describeResolverFailure } from '../lib/python/failure-message.ts'
import { createVenv } from '../lib/python/venv.ts'
import { discoverInterpreter, venvPython } from '../lib/python/interpreter.ts'
import { PythonSchema } from '../lib/spec/schema.ts'
import { buildWheel } from './helpers/wheels.ts'
import { startServer, type TestServer } from './helpers/http-server.ts'
import { guarded } from './helpers/hooks.ts'

interface Case { source: string; class: FailureClass; packages: string[]; text: string }
const corpus = (name: string): Case[] => JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'resolver-failures', `${name}.json`), 'utf8'))

// --- the classifier over real uv and pip texts ---

const C = suite('failure classes over real uv and pip output')

for (const name of ['uv', 'pip']) {
  C(`${name}: every text gets its class and names its packages`, () => {
    const cases = corpus(name)
    assert.ok(cases.length >= 10, `${name}.json holds ${cases.length} texts`)
    const wrong = cases.flatMap(c => {
      const r = classifyFailure(c.text)
      const missing = c.packages.filter(p => !r.packages.includes(p))
      return r.class === c.class && !missing.length ? [] : [`${c.source}: want ${c.class} [${c.packages}], got ${r.class} [${r.packages}]`]
    })
    assert.equal(wrong, [])
  })
}

C('every class of the corpus is represented, and only conflicts are conflicts', () => {
  const all = [...corpus('uv'), ...corpus('pip')]
  const classes = new Set(all.map(c => c.class))
  for (const c of ['conflict', 'not-found', 'index-unreachable', 'index-auth', 'python', 'yanked', 'build-failed', 'offline-miss'] as const) assert.ok(classes.has(c), c)
  const nonConflicts = all.filter(c => c.class !== 'conflict')
  assert.ok(nonConflicts.length >= 36)
  assert.equal(nonConflicts.filter(c => classifyFailure(c.text).class === 'conflict').map(c => c.source), [])
})

C('uv\'s "one of:" lists name no package called "one"', () => {
  for (const c of corpus('uv').filter(x => /one of:/.test(x.text))) assert.not.ok(classifyFailure(c.text).packages.includes('one'), c.source)
})

const collected = (nodes: CollectInput['nodes']) => collectRequirements({ nodes, rules: PythonSchema.parse({}), installed: new Map() })

C('the message leads with the class, names the node behind the package, keeps uv\'s hints and ends with the fix', () => {
  const auth = corpus('uv').find(c => c.class === 'index-auth' && /hint:/.test(c.text))!
  const d = describeResolverFailure({ text: auth.text, offline: false, what: 'uv', tail: [], collected: collected([{ name: 'node-x', text: 'anyio\n' }]) })
  const lines = d.message.split('\n')
  assert.match(lines[0]!, /^a package index refused the credentials \(package anyio; index http:\/\/\[LOCALHOST\]\/basic-auth\/simple\)/)
  assert.ok(lines.includes('  anyio: node-x asks anyio'), d.message)
  assert.ok(lines.includes('  http://[LOCALHOST]/basic-auth/simple: from the spec, the default index or a package\'s own URL'), d.message)
  assert.ok(lines.some(l => /^  hint: An index URL .*\(401 Unauthorized\)$/.test(l)), d.message)
  assert.match(lines.at(-1)!, /^Fix: /)
})

C('a build failure names the package, the node that asked for it, and the build\'s last lines', () => {
  const build = corpus('pip').find(c => c.class === 'build-failed')!
  const d = describeResolverFailure({ text: build.text, offline: true, what: 'pip', tail: [], collected: collected([{ name: 'node-cuda', text: 'wpkg-broken\n' }]) })
  assert.match(d.message, /^a Python package failed to build \(package wpkg-broken\)/)
  assert.match(d.message, /wpkg-broken: node-cuda asks wpkg-broken/)
  assert.match(d.message, /RuntimeError: cannot find CUDA_HOME/)
})

C('a Python too old: the message says what the package needs and what the environment has', () => {
  const pip = corpus('pip').find(c => c.class === 'python')!
  const d = describeResolverFailure({ text: pip.text, offline: true, what: 'pip', tail: [], collected: collected([{ name: 'node-new', text: 'wpkg-new\n' }]) })
  assert.match(d.message, /^the Python version is not supported by a requirement \(package wpkg-new; needs Python>=3\.99, the environment has 3\.11\.7\)\n  wpkg-new: node-new asks wpkg-new\n/)
  const uv = corpus('uv').find(c => /compile_python_37/.test(c.source))!
  assert.is(classifyFailure(uv.text).python, 'needs Python>=3.8, resolving for >=3.7')
})

C('two node packs giving different URLs for one package is a conflict naming both', () => {
  const urls = corpus('uv').find(c => /conflicting URLs/.test(c.text))!
  const a = 'werkzeug @ https://files.pythonhosted.org/packages/bd/24/11c3ea5a7e866bf2d97f0501d0b4b1c9bbeade102bb4b588f0d2919a5212/Werkzeug-2.0.1-py3-none-any.whl'
  const b = 'werkzeug @ https://files.pythonhosted.org/packages/ff/1d/960bb4017c68674a1cb099534840f18d3def3ce44aed12b5ed8b78e0153e/Werkzeug-2.0.0-py3-none-any.whl'
  const d = describeResolverFailure({ text: urls.text, offline: false, what: 'uv', tail: [], collected: collected([{ name: 'node-a', text: a }, { name: 'node-b', text: b }]) })
  assert.is(d.class, 'conflict')
  assert.ok(d.attribution.some(l => l.startsWith('werkzeug: node-a asks werkzeug @') && l.includes('; node-b asks werkzeug @')), d.attribution.join('\n'))
})

C('extras keep their "depends on" edge', () => {
  const extras = corpus('uv').find(c => /extra_incompatible_with_extra/.test(c.source))!
  const d = describeResolverFailure({ text: extras.text, offline: false, what: 'uv', tail: [], collected: collected([{ name: 'node-a', text: 'a[extra-b]\n' }, { name: 'node-c', text: 'a[extra-c]\n' }]) })
  assert.ok(d.attribution.some(l => /^b: a depends on b==2\.0\.0 \(a is asked for by node-a, node-c\); a depends on b==1\.0\.0/.test(l)), d.attribution.join('\n'))
})

C.run()

// --- real pip against indexes on 127.0.0.1 ---

const root = mkdtempSync(join(tmpdir(), 'comfy-vc-failures-'))
const wheels = join(root, 'wheels')
const cacheRoot = join(root, 'cache')
const venvDir = join(root, 'home', '.venv')
let backend: Backend
let srv: TestServer
/** Every process's command line, read while pip was waiting for the index's answer. */
let sampled: string[] = []

const I = suite('pip against indexes that fail')

I.before(guarded(async () => {
  buildWheel(wheels, { name: 'wpkg-core', version: '1.0' })
  const PATH = process.env.PATH ?? ''
  const interp = discoverInterpreter(undefined, PATH)
  if (!interp.ok || !interp.value.version) throw new Error(`no python3 with a known version on PATH: ${interp.ok ? 'version unknown' : interp.error}`)
  const pip = detectBackend('pip', venvDir, PATH)
  if (!pip.ok) throw new Error(pip.error)
  const made = await createVenv({ venvDir, version: interp.value.version, backend: pip.value, envPATH: PATH, cacheRoot, offline: true, timeoutMs: 120_000, env: process.env })
  if (!made.ok) throw new Error(made.error.message)
  const b = detectBackend('pip', venvDir, PATH)
  if (!b.ok) throw new Error(b.error)
  backend = b.value
  srv = await startServer({
    '/private/wpkg-core/': {
      handler: (req, res) => {
        sampled = readdirSync('/proc').filter(d => /^\d+$/.test(d)).map(pid => {
          try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') } catch { return '' }
        })
        res.writeHead(401, { 'www-authenticate': 'Basic realm="private"', 'content-length': '0' }).end()
      },
    },
    '/dead/wpkg-core/': { stall: true },
    '/silent': { stall: true },
  })
}))

I.after(guarded(async () => {
  await srv?.close()
  rmSync(root, { recursive: true, force: true })
}))

const opts = (nodeText: string, extra: Partial<CompileOptions> = {}): CompileOptions => {
  const rules = PythonSchema.parse({})
  const collectedDeps = collectRequirements({ nodes: [{ name: 'node-private', text: nodeText }], rules, installed: new Map() })
  return {
    collected: collectedDeps, rules, backend, venvPython: venvPython(venvDir), pythonVersion: 'test', cacheRoot, offline: false,
    timeoutMs: 120_000, env: process.env, index: { timeoutS: 1, retries: 0 }, ...extra,
  }
}

I('an index password never reaches a command line; pip still sends it; the refusal is classified and names the node', async () => {
  const url = `${srv.url.replace('http://', 'http://wuser:s3cret-pw@')}/private`
  const lines: string[] = []
  const r = await compile(opts(`--extra-index-url ${url}\nwpkg-core>=1.0\n`, { onLine: l => lines.push(l) }))
  assert.is(r.ok, false)
  if (r.ok) return
  assert.ok(sampled.some(c => /pip install --dry-run/.test(c)), 'pip was running when the index was asked')
  assert.equal(sampled.filter(c => c.includes('s3cret-pw')), [])
  const auth = srv.requests.find(q => q.path === '/private/wpkg-core/')?.headers.authorization
  assert.is(auth, `Basic ${Buffer.from('wuser:s3cret-pw').toString('base64')}`)
  assert.is(r.error.reason, 'failed')
  assert.is(r.error.class, 'index-auth')
  assert.match(r.error.message, /^a package index refused the credentials/)
  assert.ok(r.error.message.includes(`\n  ${srv.url.replace('http://', 'http://****@')}/private: added by node-private\n`), r.error.message)
  assert.not.ok(`${r.error.message}${r.error.details.join('')}${lines.join('')}`.includes('s3cret-pw'))
})

I('an index that does not answer fails as unreachable (not a conflict), naming it and the node that added it', async () => {
  const r = await compile(opts(`--extra-index-url ${srv.url}/dead\nwpkg-core>=1.0\n`))
  assert.is(r.ok, false)
  if (r.ok) return
  assert.is(r.error.reason, 'failed', 'the per-node fallback runs only for conflicts')
  assert.is(r.error.class, 'index-unreachable')
  assert.match(r.error.message, /^a package index did not answer/)
  assert.ok(r.error.attribution.includes(`${srv.url}/dead: added by node-private`), r.error.attribution.join('\n'))
})

I('an index that gives no answer at all fails before pip starts, naming it, why and the node that added it', async () => {
  const closed = await startServer({})
  const refusedUrl = closed.url
  await closed.close()
  const r = await compile(opts(`--extra-index-url ${srv.url}/silent\n--extra-index-url ${refusedUrl}/simple\nwpkg-core>=1.0\n`))
  assert.equal(!r.ok && [r.error.reason, r.error.class], ['failed', 'index-unreachable'])
  if (r.ok) return
  assert.match(r.error.message, /^a package index did not answer/)
  assert.equal(r.error.attribution, [
    `${srv.url}/silent: no answer within 1 s; added by node-private`,
    `${refusedUrl}/simple: ECONNREFUSED; added by node-private`,
  ])
  assert.not.ok(srv.requests.some(q => q.path.startsWith('/silent/')), 'pip never asked it for a package')
})

I('offline, a missing package is a cache miss, not a conflict', async () => {
  const rules = PythonSchema.parse({ find_links: [wheels] })
  const collectedDeps = collectRequirements({ nodes: [{ name: 'node-m', text: 'wpkg-nothere>=1\n' }], rules, installed: new Map() })
  const r = await compile({ ...opts(''), collected: collectedDeps, rules, offline: true })
  assert.equal(!r.ok && [r.error.reason, r.error.class], ['failed', 'offline-miss'])
  if (!r.ok) assert.match(r.error.message, /wpkg-nothere: node-m asks wpkg-nothere>=1/)
})

I('an ambient pip mirror is named with the spec field to use, and not handed to pip', async () => {
  mkdirSync(join(root, 'xdg', 'pip'), { recursive: true })
  writeFileSync(join(root, 'xdg', 'pip', 'pip.conf'), '[global]\nindex-url = https://mirror.example/simple\n')
  const lines: string[] = []
  const r = await compile(opts('wpkg-core>=1.0\n', {
    rules: PythonSchema.parse({ find_links: [wheels] }), offline: true, onLine: l => lines.push(l),
    env: { ...process.env, PIP_INDEX_URL: 'https://u:pw@mirror.example/simple', XDG_CONFIG_HOME: join(root, 'xdg') },
  }))
  assert.ok(r.ok, r.ok ? '' : r.error.message)
  assert.ok(lines.includes('note: PIP_INDEX_URL=https://****@mirror.example/simple is set in the environment and not used: the spec decides the indexes; put it in python.index_url'), lines.join('\n'))
  assert.ok(lines.some(l => l.includes(`${join(root, 'xdg', 'pip', 'pip.conf')} sets index-url = https://mirror.example/simple`) && l.endsWith('python.index_url')), lines.join('\n'))
})

I.run()
