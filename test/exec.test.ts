import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawn } from 'node:child_process'
import { exec } from '../lib/util/exec.ts'
import { withholdFromChildren } from '../lib/util/child-env.ts'
import { pollUntil } from './helpers/poll-until.ts'

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

E('a child, what it started, even outside its group, and git started without exec all end when the tool is SIGKILLed', async () => {
  // A stand-in for the tool: it starts a child through exec (which starts one in its group and one in a session of
  // its own) and a plain child in its own process group (as simple-git starts git), says their pids, and waits.
  const tool = `
    import { spawn } from 'node:child_process'
    import { exec } from ${JSON.stringify(new URL('../lib/util/exec.ts', import.meta.url).pathname)}
    void exec('bash', ['-c', 'sleep 300 </dev/null >/dev/null 2>&1 & a=$!; setsid sleep 301 </dev/null >/dev/null 2>&1 & echo $$ $a $!; wait'], {
      env: process.env, onLine: line => {
        const plain = spawn('sleep', ['302'], { stdio: 'ignore' })
        process.stdout.write(line + ' ' + plain.pid + '\\n')
      },
    })`
  const dir = mkdtempSync(join(tmpdir(), 'exec-test-'))
  writeFileSync(join(dir, 'tool.ts'), tool)
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'tool.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d })
  const line = await pollUntil('the stand-in to say its pids', () => out.includes('\n') && out)
  const pids = line.trim().split(/\s+/).map(Number)
  assert.is(pids.length, 4, line)
  await pollUntil('setsid to become sleep', () => readFileSync(`/proc/${pids[2]}/cmdline`, 'utf8').startsWith('sleep'))
  assert.ok(pids.every(alive), pids.map(p => `${p}:${alive(p)}`).join(' '))
  child.kill('SIGKILL')
  try {
    await pollUntil('every process the tool started to end', () => pids.every(p => !alive(p)), { guardMs: 10_000 })
  } finally {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

E('a child (an install script printing its environment) never sees the tokens of the auth rules', async () => {
  withholdFromChildren(['MY_REGISTRY_TOKEN'])
  const r = await exec('sh', ['-c', 'env'], { env: { PATH: process.env.PATH, HF_TOKEN: 'hf-secret-1', CIVITAI_TOKEN: 'cv-secret-2', MY_REGISTRY_TOKEN: 'rg-secret-3', KEPT: 'yes' } })
  assert.is(r.exitCode, 0)
  for (const secret of ['hf-secret-1', 'cv-secret-2', 'rg-secret-3']) assert.not.ok(r.stdout.includes(secret), `${secret} reached the child`)
  assert.match(r.stdout, /^KEPT=yes$/m)
})

E.run()
