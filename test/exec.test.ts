import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { exec } from '../lib/util/exec.ts'

const E = suite('exec')

/** Running, as opposed to gone or a zombie nobody reaped (an orphan's parent here may be a pid 1 that never reaps). */
const alive = (pid: number): boolean => {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}

E('cancelling stops the program and what it started (python -m venv runs pip), not just the program', async () => {
  const ac = new AbortController()
  let grandchild: number | undefined
  // The process it starts holds none of its pipes, so the command can end while it runs on.
  const run = exec('bash', ['-c', 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!; wait'], {
    env: process.env, signal: ac.signal,
    onLine: line => { grandchild = Number(line); ac.abort() },
  })
  const result = await run
  assert.ok(result.aborted)
  assert.ok(grandchild, 'the program said which process it started')
  for (let i = 0; i < 50 && alive(grandchild!); i++) await sleep(20)
  const left = alive(grandchild!)
  if (left) process.kill(grandchild!, 'SIGKILL')
  assert.not.ok(left, 'the process the program started was left running')
})

E.run()
