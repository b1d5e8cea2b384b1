import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeWorld, ROOT, type World } from './helpers/cli.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; helps: Map<string, string> }
const S = suite<Ctx>('docs: instructions.md names every flag that --help names')

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

S.run()
