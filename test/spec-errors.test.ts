// The bad-spec corpus: each test/fixtures/bad-specs/<case>/ holds one spec file under versions/ and expected.txt,
// the exact lines a user should see. A case whose current.txt exists is a known gap in lib/spec/load.ts or schema.ts:
// today's output is pinned there until the loader is fixed, and then current.txt must be deleted.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadSpecFile } from '../lib/spec/load.ts'
import { parseSpecText } from '../lib/spec/parse-spec.ts'
import { renderDiagnostic, type Diagnostic } from '../lib/spec/diagnostic.ts'

const corpus = fileURLToPath(new URL('./fixtures/bad-specs/', import.meta.url))
const cases = readdirSync(corpus).sort()
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(l => l !== '')

/** Rendered as the user sees them when the spec is versions/<file> under the working directory. */
function render(diagnostics: Diagnostic[], shownFile: string, asFile: string): string[] {
  return diagnostics.map(d => {
    assert.is(d.file, shownFile, 'every diagnostic names the spec file')
    return renderDiagnostic({ ...d, file: asFile }, '/')
  })
}

const Corpus = suite('bad-spec corpus')

Corpus('has at least 30 cases, each with one spec and its expected lines', () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`)
  for (const c of cases) {
    const specs = readdirSync(join(corpus, c, 'versions'))
    assert.is(specs.length, 1, `${c}: one spec file`)
    assert.ok(existsSync(join(corpus, c, 'expected.txt')), `${c}: expected.txt`)
  }
})

for (const c of cases) {
  Corpus(c, async () => {
    const dir = join(corpus, c)
    const [name] = readdirSync(join(dir, 'versions'))
    const file = join(dir, 'versions', name!)
    const loaded = await loadSpecFile(file)
    assert.not.ok(loaded.ok, `${c}: the spec must be rejected`)
    if (loaded.ok) return
    const actual = render(loaded.error, file, `versions/${name}`)
    const expected = lines(join(dir, 'expected.txt'))
    const gap = join(dir, 'current.txt')
    if (!existsSync(gap)) {
      assert.equal(actual, expected, `${c}: every problem, one line each`)
      return
    }
    assert.not.equal(actual, expected, `${c}: the loader now prints expected.txt; delete ${c}/current.txt`)
    assert.equal(actual, lines(gap), `${c}: output changed from the pinned current.txt (expected.txt is the target)`)
  })
}

Corpus('parseSpecText reports the same problems as loadSpecFile', async () => {
  const dir = join(corpus, 'many-problems', 'versions')
  const text = readFileSync(join(dir, 'many-problems.json'), 'utf8')
  const viaText = parseSpecText(text, 'versions/many-problems.json', 'many-problems')
  const viaFile = await loadSpecFile(join(dir, 'many-problems.json'))
  assert.ok(!viaText.ok && !viaFile.ok)
  if (viaText.ok || viaFile.ok) return
  assert.equal(viaText.error.map(d => ({ ...d, file: '' })), viaFile.error.map(d => ({ ...d, file: '' })))
  assert.ok(viaText.error.length >= 15, 'all problems are reported at once')
})

Corpus('a diagnostic keeps the file it was given; rendering shows it relative to the working directory when inside it', () => {
  const d: Diagnostic = { file: '/work/versions/x.json', path: 'custom_nodes[0].repo', message: 'bad', line: 7 }
  assert.is(renderDiagnostic(d, '/work'), 'versions/x.json: custom_nodes[0].repo: bad (line 7)')
  assert.is(renderDiagnostic(d, '/elsewhere'), '/work/versions/x.json: custom_nodes[0].repo: bad (line 7)')
  assert.is(renderDiagnostic({ ...d, file: '/work' }, '/work'), '/work: custom_nodes[0].repo: bad (line 7)')
  assert.is(renderDiagnostic({ ...d, file: 'graph', line: undefined }, '/work'), 'graph: custom_nodes[0].repo: bad')
})

Corpus('a missing spec file says how to create one', async () => {
  const home = await mkdtemp(join(tmpdir(), 'comfy-vc-spec-errors-'))
  try {
    const file = join(home, 'versions', 'nope.json')
    const loaded = await loadSpecFile(file)
    assert.not.ok(loaded.ok)
    if (loaded.ok) return
    assert.equal(render(loaded.error, file, 'versions/nope.json'), [
      'versions/nope.json: (root): no such spec (create it with `create`, or check --versions-dir)',
    ])
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

Corpus('a spec path that is a folder, a FIFO or a dangling link is named for what it is (and a FIFO does not hang); a BOM is read past', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-spec-kinds-'))
  try {
    const message = async (name: string) => {
      const r = await loadSpecFile(join(dir, name))
      return r.ok ? 'loaded' : r.error.map(d => d.message).join('; ')
    }
    await mkdir(join(dir, 'folder.json'))
    execFileSync('mkfifo', [join(dir, 'fifo.json')])
    await symlink(join(dir, 'gone.json'), join(dir, 'dangling.json'))
    await writeFile(join(dir, 'bom.json'), `\uFEFF${JSON.stringify({ schema_version: 2, id: 'bom', comfyui: { repo: 'https://github.com/comfyanonymous/ComfyUI' } })}`)
    assert.is(await message('folder.json'), 'is a folder; a spec is a JSON file')
    assert.is(await message('fifo.json'), 'is not a regular file; a spec is a JSON file')
    assert.is(await message('dangling.json'), 'is a symbolic link to a file that does not exist')
    assert.is(await message('bom.json'), 'loaded')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

Corpus.run()
