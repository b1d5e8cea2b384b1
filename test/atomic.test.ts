import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeWorkDir, writeFileAtomic } from '../lib/util/atomic.ts'
import { hostId } from '../lib/util/host-id.ts'

const A = suite('work folders')

A('a work folder a killed run of this host left is removed before a new one is made; a live one, and another host\'s, are kept', async () => {
  const root = mkdtempSync(join(tmpdir(), 'comfy-vc-work-'))
  try {
    const gone = await deadPid()
    const dead = join(root, `compile-${gone}@${hostId()}-abcdef12`)
    mkdirSync(dead)
    writeFileSync(join(dead, 'requirements.in'), 'pkg @ https://user:secret@host/pkg.whl\n')
    const live = join(root, `compile-${process.pid}@${hostId()}-0badcafe`)
    mkdirSync(live)
    // The same pid on another pod sharing the volume: alive there for all this host knows.
    const otherHost = join(root, `compile-${gone}@${hostId() === '00000000' ? '11111111' : '00000000'}-12345678`)
    mkdirSync(otherHost)
    const untaggedRecent = join(root, `compile-${gone}-87654321`)
    mkdirSync(untaggedRecent)
    const untaggedOld = join(root, `compile-${gone}-8765432a`)
    mkdirSync(untaggedOld)
    const then = new Date(Date.now() - 7 * 3600_000)
    utimesSync(untaggedOld, then, then)
    const made = await makeWorkDir(root, 'compile-')
    assert.not.ok(existsSync(dead))
    assert.not.ok(existsSync(untaggedOld))
    assert.match(made, new RegExp(`compile-${process.pid}@${hostId()}-[0-9a-f]{8}$`))
    assert.equal(readdirSync(root).sort(), [live, otherHost, untaggedRecent, made].map(p => p.slice(root.length + 1)).sort())
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

A('a write of a file removes the temporary files killed writes of it left; a live writer\'s and other files\' stay', async () => {
  const root = mkdtempSync(join(tmpdir(), 'comfy-vc-atomic-'))
  try {
    const file = join(root, 'marker.json')
    const gone = await deadPid()
    const dead = `${file}.tmp-${gone}@${hostId()}-abcdef12`
    const live = `${file}.tmp-${process.pid}@${hostId()}-0badcafe`
    const other = join(root, `links.json.tmp-${gone}@${hostId()}-12345678`)
    for (const p of [dead, live, other]) writeFileSync(p, '')
    await writeFileAtomic(file, '{}\n')
    assert.is(readFileSync(file, 'utf8'), '{}\n')
    assert.equal(readdirSync(root).sort(), ['marker.json', live.slice(root.length + 1), other.slice(root.length + 1)].sort())
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true')
  await new Promise(resolve => child.on('exit', resolve))
  return child.pid!
}

A('a file rewritten through a symbolic link: the link stays, its target gets the content and keeps its mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comfy-vc-atomic-'))
  try {
    const real = join(dir, 'real', 'spec.json')
    mkdirSync(join(dir, 'real'))
    writeFileSync(real, '{"old":1}\n')
    chmodSync(real, 0o600)
    const link = join(dir, 'spec.json')
    symlinkSync(real, link)
    await writeFileAtomic(link, '{"new":1}\n')
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a link')
    assert.is(readFileSync(real, 'utf8'), '{"new":1}\n')
    assert.is(statSync(real).mode & 0o777, 0o600)
    assert.equal(readdirSync(join(dir, 'real')), ['spec.json'], 'no temp file left beside the target')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

A.run()
