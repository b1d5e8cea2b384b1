import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { acquireLock, probeLock } from '../lib/util/lock.ts'
import { guarded } from './helpers/hooks.ts'
import { pollUntil } from './helpers/poll-until.ts'

const LOCK_MODULE = fileURLToPath(new URL('../lib/util/lock.ts', import.meta.url))

/** A process that takes the lock, proves it is alone in it (an exclusive create), and lets go. */
const CONTENDER = `
import { acquireLock } from ${JSON.stringify(LOCK_MODULE)}
import { unlinkSync, writeFileSync } from 'node:fs'
const [lock, holder] = process.argv.slice(-2)
const release = await acquireLock(lock)
try { writeFileSync(holder, String(process.pid), { flag: 'wx' }) } catch { console.log('OVERLAP') ; process.exit(0) }
// Holds it a moment, so that a second holder, if the lock let one in, would overlap and fail its exclusive create.
await new Promise(r => setTimeout(r, 20))
unlinkSync(holder)
await release()
console.log('ok')
`

/**
 * A process that takes the lock with the given heartbeat, says "held", and lets go when its stdin closes. With a host
 * argument it passes for a process on that host (a pod sharing the volume): os.hostname is replaced before the lock
 * module is loaded.
 */
const HOLDER = `
import os from 'node:os'
import { syncBuiltinESMExports } from 'node:module'
const [lock, heartbeatMs, host] = process.argv.slice(2)
if (host) { os.hostname = () => host; syncBuiltinESMExports() }
const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)})
const release = await acquireLock(lock, { heartbeatMs: Number(heartbeatMs) })
console.log('held')
process.stdin.on('end', async () => { await release(); console.log('released') })
process.stdin.resume()
`

interface Holder { child: ChildProcess; letGo(): Promise<void> }

/** Starts a HOLDER and resolves once it holds the lock. */
async function startHolder(dir: string, lock: string, o: { heartbeatMs: number; host?: string }): Promise<Holder> {
  const script = join(dir, 'holder.mts')
  writeFileSync(script, HOLDER)
  const child = spawn(process.execPath, ['--import', 'tsx', script, lock, String(o.heartbeatMs), ...(o.host ? [o.host] : [])], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  const said = (word: string) => new Promise<void>((resolve, reject) => {
    const look = () => { if (out.includes(word)) resolve() }
    child.stdout!.on('data', d => { out += d; look() })
    child.on('close', code => reject(new Error(`the holder exited (${code}) before saying "${word}": ${out}`)))
    look()
  })
  await said('held')
  return { child, letGo: async () => { const released = said('released'); child.stdin!.end(); await released } }
}

/** Whether a promise has settled, read without waiting. */
function tracked<T>(p: Promise<T>): { promise: Promise<T>; settled(): boolean } {
  let done = false
  p.then(() => { done = true }, () => { done = true })
  return { promise: p, settled: () => done }
}

/** Writes a lock by hand, as a process that is gone left it; `ageMs` makes its heartbeat (the owner file's mtime) old. */
function leftLock(lock: string, owner: { pid: number; host: string }, ageMs = 0): void {
  mkdirSync(lock)
  const file = join(lock, 'owner.json')
  writeFileSync(file, JSON.stringify({ ...owner, since: Date.now() - ageMs }))
  const then = new Date(Date.now() - ageMs)
  utimesSync(file, then, then)
}

/** The pid of a process that has exited: a lock in its name on this host is stale at once. */
async function deadPid(): Promise<number> {
  const child = spawn('true')
  await new Promise(resolve => child.on('exit', resolve))
  return child.pid!
}

const ownerOf = (lock: string): { pid: number; host: string } => JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8'))

const EXEC_MODULE = fileURLToPath(new URL('../lib/util/exec.ts', import.meta.url))

/** Takes the lock, starts a child that outlives nothing, says "held" with the child's pid, and waits to be killed. */
const KILLED_HOLDER = `
const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)})
const { exec } = await import(${JSON.stringify(EXEC_MODULE)})
await acquireLock(process.argv[2], { heartbeatMs: 60_000 })
void exec('bash', ['-c', 'echo $$; exec sleep 300'], { env: process.env, onLine: line => console.log('held', line) })
`

const L = suite('cross-process lock')

let dir = ''
L.before.each(guarded(() => { dir = mkdtempSync(join(tmpdir(), 'comfy-vc-lock-')) }))
L.after.each(guarded(() => { rmSync(dir, { recursive: true, force: true }) }))

L('a lock from another host whose heartbeat is older than the limit is taken over', async () => {
  const lock = join(dir, 'a.lock')
  leftLock(lock, { pid: 4242, host: 'pod-previous' }, 5 * 60_000)
  const release = await acquireLock(lock, { staleAfterMs: 60_000, signal: AbortSignal.timeout(20_000) })
  assert.equal([ownerOf(lock).pid, ownerOf(lock).host], [process.pid, hostname()])
  await release()
  assert.not.ok(existsSync(lock))
})

L('a lock in our host and pid that this process did not take (an earlier container) is taken over at once', async () => {
  const lock = join(dir, 'a.lock')
  leftLock(lock, { pid: process.pid, host: hostname() })
  const release = await acquireLock(lock, { signal: AbortSignal.timeout(20_000) })
  assert.is(ownerOf(lock).pid, process.pid)
  await release()
})

L('a lock this process holds is waited for by a second taker in the same process', async () => {
  const lock = join(dir, 'a.lock')
  const first = await acquireLock(lock)
  // A notice at every look: each one is a look at the lock that left it to its holder.
  const looks: string[] = []
  let lookedThrice!: () => void
  const threeLooks = new Promise<void>(resolve => { lookedThrice = resolve })
  const second = tracked(acquireLock(lock, {
    noticeAfterMs: 0, noticeEveryMs: 0, onWait: line => { if (looks.push(line) === 3) lookedThrice() }, signal: AbortSignal.timeout(60_000),
  }))
  await Promise.race([threeLooks, second.promise])
  assert.not.ok(second.settled(), 'took a lock this process holds')
  assert.match(looks[0]!, new RegExp(`held by pid ${process.pid} on host ${hostname()} `))
  await first()
  const release = await second.promise
  assert.is(ownerOf(lock).pid, process.pid)
  await release()
  assert.not.ok(existsSync(lock))
})

L('a live holder on another host is not taken over while it refreshes; the wait is told once, and ends when it lets go', async () => {
  const lock = join(dir, 'a.lock')
  const holder = await startHolder(dir, lock, { heartbeatMs: 100, host: 'pod-other' })
  try {
    const lines: string[] = []
    let told!: () => void
    const notice = new Promise<void>(resolve => { told = resolve })
    // The notice comes from a look past the limit (3.5 s after the wait began, 3 s allowed): only the heartbeat can
    // have kept the lock alive this long. The look is the event waited for; load only makes it later.
    const taking = tracked(acquireLock(lock, {
      staleAfterMs: 3_000, noticeAfterMs: 3_500, onWait: line => { lines.push(line); told() }, waitingFor: 'the test resource',
      signal: AbortSignal.timeout(60_000),
    }))
    await Promise.race([notice, taking.promise])
    assert.not.ok(taking.settled(), 'the lock was taken from a live holder')
    assert.match(lines[0]!, new RegExp(`^waiting for the test resource \\(held by pid ${holder.child.pid} on host pod-other since \\d\\d:\\d\\d:\\d\\d, refreshed \\d+ s ago; taken over if it stops refreshing for 3 s\\)$`))
    await holder.letGo()
    const release = await taking.promise
    assert.is(lines.length, 1, `told more than once:\n${lines.join('\n')}`)
    assert.is(ownerOf(lock).pid, process.pid)
    await release()
  } finally {
    holder.child.kill('SIGKILL')
  }
})

L('a holder killed on another host is taken over once its heartbeat is older than the limit', async () => {
  const lock = join(dir, 'a.lock')
  const holder = await startHolder(dir, lock, { heartbeatMs: 100, host: 'pod-other' })
  const closed = new Promise(resolve => holder.child.on('close', resolve))
  holder.child.kill('SIGKILL')
  await closed
  assert.is(ownerOf(lock).host, 'pod-other')
  const lastBeat = statSync(join(lock, 'owner.json')).mtimeMs
  const release = await acquireLock(lock, { staleAfterMs: 1_000, signal: AbortSignal.timeout(60_000) })
  assert.is(ownerOf(lock).pid, process.pid)
  // Not at once, as for a dead pid on this host: another host's pid cannot be checked. (A floor: load only adds.)
  assert.ok(Date.now() - lastBeat > 1_000, `taken over ${Date.now() - lastBeat} ms after the last heartbeat`)
  await release()
})

L('the holder refreshes its heartbeat', async () => {
  const lock = join(dir, 'a.lock')
  const holder = await startHolder(dir, lock, { heartbeatMs: 100 })
  try {
    const file = join(lock, 'owner.json')
    const hourAgo = new Date(Date.now() - 3_600_000)
    utimesSync(file, hourAgo, hourAgo)
    await pollUntil('the heartbeat to be refreshed', () => statSync(file).mtimeMs > Date.now() - 60_000)
    await holder.letGo()
    assert.not.ok(existsSync(lock))
  } finally {
    holder.child.kill('SIGKILL')
  }
})

L('aborting ends a wait for a live holder', async () => {
  const lock = join(dir, 'a.lock')
  const holder = await startHolder(dir, lock, { heartbeatMs: 100 })
  try {
    const abort = new AbortController()
    // Aborted once it is waiting (its first notice), not at a time that may come before its first look.
    const taking = acquireLock(lock, { signal: abort.signal, noticeAfterMs: 0, onWait: () => abort.abort() })
    await taking.then(() => assert.unreachable('took a live lock'), e => assert.is((e as Error).name, 'AbortError'))
    assert.is(ownerOf(lock).pid, holder.child.pid)
  } finally {
    holder.child.kill('SIGKILL')
  }
})

L('a stale lock (its owner is dead) is taken over by exactly one of many processes at a time', async () => {
  {
    const script = join(dir, 'contender.mts')
    writeFileSync(script, CONTENDER)
    const gone = await deadPid()
    for (let round = 0; round < 3; round++) {
      const lock = join(dir, `round-${round}.lock`)
      mkdirSync(lock)
      writeFileSync(join(lock, 'owner.json'), JSON.stringify({ pid: gone, host: hostname(), since: Date.now() }))
      const outputs = await Promise.all(Array.from({ length: 8 }, () => new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, lock, join(dir, `round-${round}.holder`)], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        child.stdout.on('data', d => { out += d })
        child.on('error', reject)
        child.on('close', () => resolve(out.trim()))
      })))
      assert.equal(outputs, Array(8).fill('ok'), `round ${round}: ${outputs.join(', ')}`)
    }
  }
})

L('a holder SIGKILLed while its child runs: the child ends and the lock goes at once (no host waits the heartbeat out)', async () => {
  const lock = join(dir, 'a.lock')
  const script = join(dir, 'killed-holder.mts')
  writeFileSync(script, KILLED_HOLDER)
  const child = spawn(process.execPath, ['--import', 'tsx', script, lock], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', d => { out += d })
  const pid = Number(await pollUntil('the holder to hold the lock and start its child', () => /held (\d+)/.exec(out)?.[1]))
  assert.ok(existsSync(join(lock, 'owner.json')))
  assert.ok((await probeLock(lock)).held, 'a live holder\'s lock is held')
  child.kill('SIGKILL')
  await pollUntil('the lock folder to be removed', () => !existsSync(lock), { guardMs: 10_000 })
  let alive = true
  try { alive = !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { alive = false }
  assert.not.ok(alive, 'the child ended with its tool')
  assert.not.ok((await probeLock(lock)).held)
})

L('probeLock says a lock whose owner died is not held, and never takes it', async () => {
  const lock = join(dir, 'a.lock')
  leftLock(lock, { pid: await deadPid(), host: hostname() })
  assert.equal((await probeLock(lock)).held, false)
  assert.ok(existsSync(lock), 'left in place for acquireLock to take over')
})

L.run()
