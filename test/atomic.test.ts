import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeWorkDir } from '../lib/util/atomic.ts'

const A = suite('work folders')

A('a work folder a killed run left (its pid is gone) is removed before a new one is made; a live one is kept', async () => {
  const root = mkdtempSync(join(tmpdir(), 'comfy-vc-work-'))
  try {
    const dead = join(root, 'compile-999999-abcdef12')
    mkdirSync(dead)
    writeFileSync(join(dead, 'requirements.in'), 'pkg @ https://user:secret@host/pkg.whl\n')
    const live = join(root, `compile-${process.pid}-0badcafe`)
    mkdirSync(live)
    const made = await makeWorkDir(root, 'compile-')
    assert.not.ok(existsSync(dead))
    assert.ok(existsSync(live))
    assert.match(made, new RegExp(`compile-${process.pid}-[0-9a-f]{8}$`))
    assert.equal(readdirSync(root).sort(), [live, made].map(p => p.slice(root.length + 1)).sort())
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

A.run()
