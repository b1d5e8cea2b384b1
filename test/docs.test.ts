import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeWorld, ROOT, type World } from './helpers/cli.ts'
import { makeRepo } from './helpers/git-repos.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; helps: Map<string, string> }
const S = suite<Ctx>('docs: what instructions.md, README.md and docs/ci say holds')

/** Options every command takes, described once at the top of instructions.md. */
const COMMON = new Set(['--json', '--help', '--versions-dir', '--home', '--cache-root', '--models-dir', '--config'])

S.before(guarded(async ctx => {
  ctx.w = await makeWorld('comfy-vc-docs-')
  const main = await ctx.w.cli(['--help'])
  const commands = [...main.stdout.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map(m => m[1]!)
  ctx.helps = new Map(await Promise.all(commands.map(async c => [c, (await ctx.w.cli([c, '--help'])).stdout] as const)))
}))
S.after(guarded(async ctx => { await ctx.w.cleanup() }))

/** The text under the `## ` heading that names `command` (a heading may name several: "## clone, delete, list"). */
function section(doc: string, command: string): string | undefined {
  const parts = doc.split(/^## /m).slice(1)
  return parts.find(p => (p.split('\n')[0] ?? '').split(/[ ,]+/).includes(command))
}

/** The flags a --help offers: those of its Usage lines and of its option list (not the ones its prose mentions). */
function ownFlags(help: string): string[] {
  const usage = help.split(/\n\s*\n/)[0] ?? ''
  const listed = [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map(m => m[1]!)
  return [...[...usage.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map(m => m[0]), ...listed]
}

S('every command has a section, and it names each of its flags', ({ helps }) => {
  const doc = readFileSync(join(ROOT, 'docs', 'instructions.md'), 'utf8')
  assert.ok(helps.size >= 17, [...helps.keys()].join(', '))
  const missing: string[] = []
  for (const [command, help] of helps) {
    const text = section(doc, command)
    if (!text) { missing.push(`${command}: no "## ${command}" section`); continue }
    const flags = new Set(ownFlags(help).filter(f => !COMMON.has(f)))
    for (const f of flags) if (!new RegExp(`${f}(?![a-z-])`).test(text)) missing.push(`${command}: ${f}`)
  }
  assert.equal(missing, [])
})

S('README\'s command list names every command', ({ helps }) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  assert.equal([...helps.keys()].filter(c => !readme.includes(`\`${c}`)), [])
})

S('the CI recipe run twice on restored folders: the second realize runs nothing, verify holds', async ({ w }) => {
  const repos = join(w.dir, 'repos')
  const core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print(1)\n', 'requirements.txt': '' }], { branch: 'master' })
  const node = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n' }], { branch: 'main' })
  mkdirSync(join(w.dir, 'files'), { recursive: true })
  const body = Buffer.from('weights '.repeat(4096))
  writeFileSync(join(w.dir, 'files', 'm.safetensors'), body)
  await w.writeSpec('ci', {
    schema_version: 2, id: 'ci',
    comfyui: { repo: core.url, ref: 'master', commit: core.commits[0] },
    custom_nodes: [{ repo: node.url, ref: 'main', commit: node.commits[0] }],
    models: [{ path: 'checkpoints/m.safetensors', url: pathToFileURL(join(w.dir, 'files', 'm.safetensors')).href, sha256: createHash('sha256').update(body).digest('hex'), size: body.length }],
  })
  const env = { ...w.env, PIP_CONFIG_FILE: '/dev/null' }
  const run = (report: string) => spawnSync('bash', [join(ROOT, 'docs', 'ci', 'comfy-vc-ci.sh'), 'ci', join(w.dir, report)], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 })
  const first = run('first.json')
  assert.is(first.status, 0, first.stderr)
  const firstDoc = JSON.parse(readFileSync(join(w.dir, 'first.json'), 'utf8'))
  assert.ok(firstDoc.ok && firstDoc.tasks.every((t: { status: string }) => t.status === 'ran'), JSON.stringify(firstDoc.tasks))
  const second = run('second.json')
  assert.is(second.status, 0, second.stderr)
  const secondDoc = JSON.parse(readFileSync(join(w.dir, 'second.json'), 'utf8'))
  assert.equal(secondDoc.tasks.filter((t: { status: string }) => t.status !== 'skipped'), [])
  assert.is(secondDoc.tasks.length, firstDoc.tasks.length)
  assert.match(second.stderr, /valid and fully pinned/)
  assert.match(second.stdout + second.stderr, /ci: \d+ check\(s\), all hold/)
})

S.run()
