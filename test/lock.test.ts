import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const LOCK_MODULE = fileURLToPath(new URL('../lib/util/lock.ts', import.meta.url))

/** A process that takes the lock, proves it is alone in it (an exclusive create), and lets go. */
const CONTENDER = `
import { acquireLock } from ${JSON.stringify(LOCK_MODULE)}
import { unlinkSync, writeFileSync } from 'node:fs'
const [lock, holder] = process.argv.slice(-2)
const release = await acquireLock(lock)
try { writeFileSync(holder, String(process.pid), { flag: 'wx' }) } catch { console.log('OVERLAP') ; process.exit(0) }
await new Promise(r => setTimeout(r, 20))
unlinkSync(holder)
await release()
console.log('ok')
`

const L = suite('cross-process lock')

L('a stale lock (its owner is dead) is taken over by exactly one of many processes at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comfy-vc-lock-'))
  try {
    const script = join(dir, 'contender.mts')
    writeFileSync(script, CONTENDER)
    for (let round = 0; round < 3; round++) {
      const lock = join(dir, `round-${round}.lock`)
      mkdirSync(lock)
      writeFileSync(join(lock, 'owner.json'), JSON.stringify({ pid: 999_999, host: hostname(), since: Date.now() }))
      const outputs = await Promise.all(Array.from({ length: 8 }, () => new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, lock, join(dir, `round-${round}.holder`)], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        child.stdout.on('data', d => { out += d })
        child.on('error', reject)
        child.on('close', () => resolve(out.trim()))
      })))
      assert.equal(outputs, Array(8).fill('ok'), `round ${round}: ${outputs.join(', ')}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

L.run()
