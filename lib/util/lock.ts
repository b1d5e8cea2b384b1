import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'

/** Releases a lock taken by {@link acquireLock}. */
export type Release = () => Promise<void>

interface Owner { pid: number; host: string; since: number }

/**
 * A cross-process lock: a directory created with mkdir (atomic on every local file system).
 * A lock whose owner process is gone (same host, dead pid) is taken over, so a killed run
 * never blocks the next one. Waits, polling, until it gets the lock or `signal` aborts.
 */
export async function acquireLock(path: string, signal?: AbortSignal, pollMs = 50): Promise<Release> {
  await mkdir(dirname(path), { recursive: true })
  for (;;) {
    signal?.throwIfAborted()
    try {
      await mkdir(path)
      const owner: Owner = { pid: process.pid, host: hostname(), since: Date.now() }
      await writeFile(`${path}/owner.json`, JSON.stringify(owner))
      return async () => { await rm(path, { recursive: true, force: true }) }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    if (await isStale(path) && await removeStale(path)) continue
    await sleep(pollMs, undefined, signal ? { signal } : undefined)
  }
}

/**
 * Removes a stale lock under a guard, judging it stale again inside: without the guard, a process that judged the
 * old lock stale could delete the fresh lock another process has just taken in its place. False when another
 * process is doing it (the caller waits and looks again).
 */
async function removeStale(path: string): Promise<boolean> {
  const guard = `${path}.takeover`
  try {
    await mkdir(guard)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    // Held for a few milliseconds; one still there after seconds was left by a killed process.
    const st = await stat(guard).catch(() => undefined)
    if (st && Date.now() - st.mtimeMs > 5_000) await rm(guard, { recursive: true, force: true })
    return false
  }
  try {
    if (await isStale(path)) await rm(path, { recursive: true, force: true })
    return true
  } finally {
    await rm(guard, { recursive: true, force: true })
  }
}

async function isStale(path: string): Promise<boolean> {
  let owner: Owner
  try {
    owner = JSON.parse(await readFile(`${path}/owner.json`, 'utf8')) as Owner
  } catch {
    // The owner file is written right after mkdir; give a live owner a moment before judging.
    const st = await stat(path).catch(() => undefined)
    return !!st && Date.now() - st.mtimeMs > 5_000
  }
  if (owner.host !== hostname()) return false
  if (owner.pid === process.pid) return false
  try { process.kill(owner.pid, 0); return false } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** Runs `fn` while holding the lock at `path`. */
export async function withLock<T>(path: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(path, signal)
  try { return await fn() } finally { await release() }
}
