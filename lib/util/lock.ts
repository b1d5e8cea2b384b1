import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { unwatchLock, watchdogRunning, watchLock } from './child-watch.ts'

/** Releases a lock taken by {@link acquireLock}. */
export type Release = () => Promise<void>

/** What a lock's `owner.json` says. Its mtime is the owner's heartbeat. */
interface Owner { pid: number; host: string; since: number }

export interface LockOptions {
  /** Ends a wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined
  /** What the lock guards, for the waiting line: "waiting for <waitingFor> (held by …)". The lock's path by default. */
  waitingFor?: string | undefined
  /** Told when a wait lasts `noticeAfterMs`, then at most every `noticeEveryMs`, so no wait is silent. */
  onWait?: ((line: string) => void) | undefined
  /**
   * A lock whose heartbeat is older than this is stale, whatever its host and pid. Generous: the hosts sharing a
   * network volume disagree a little on the time, and an owner must never lose a lock it is still refreshing.
   */
  staleAfterMs?: number
  /** How often the holder refreshes its heartbeat. */
  heartbeatMs?: number
  pollMs?: number
  noticeAfterMs?: number
  noticeEveryMs?: number
}

const LOCK_DEFAULTS = { staleAfterMs: 90_000, heartbeatMs: 10_000, pollMs: 50, noticeAfterMs: 2_000, noticeEveryMs: 30_000 } as const

/**
 * Locks this process holds (resolved paths). A lock in the name of our host and pid that is not here was left by an
 * earlier process that had our pid: in a restarted container pids start again at 1.
 */
const heldHere = new Set<string>()

/**
 * A cross-process lock: a directory created with mkdir (atomic on local and network file systems), holding
 * `owner.json` ({pid, host, since}) whose mtime the holder refreshes every `heartbeatMs`. A lock is taken over when
 * its owner is gone: at once when it was on this host (its pid is dead, or is ours but this process did not take
 * it), otherwise once its heartbeat is older than `staleAfterMs` (a pod that died with the lock on a shared volume).
 * Waits, polling, until it gets the lock or `signal` aborts; a wait that lasts is reported through `onWait`.
 */
export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<Release> {
  const path = resolve(lockPath)
  const { signal } = options
  const staleAfterMs = options.staleAfterMs ?? LOCK_DEFAULTS.staleAfterMs
  const noticeAfterMs = options.noticeAfterMs ?? LOCK_DEFAULTS.noticeAfterMs
  const noticeEveryMs = options.noticeEveryMs ?? LOCK_DEFAULTS.noticeEveryMs
  await mkdir(dirname(path), { recursive: true })
  const waitStarted = Date.now()
  let lastNotice: number | undefined
  for (;;) {
    signal?.throwIfAborted()
    try {
      await mkdir(path)
      return await hold(path, options.heartbeatMs ?? LOCK_DEFAULTS.heartbeatMs)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const seen = await inspect(path, staleAfterMs)
    if (seen.stale && await removeStale(path, staleAfterMs)) continue
    const now = Date.now()
    if (options.onWait && now - waitStarted >= noticeAfterMs && (lastNotice === undefined || now - lastNotice >= noticeEveryMs)) {
      lastNotice = now
      options.onWait(waitingLine(options.waitingFor ?? lockPath, seen, staleAfterMs))
    }
    await sleep(options.pollMs ?? LOCK_DEFAULTS.pollMs, undefined, signal ? { signal } : undefined)
  }
}

/** Runs `fn` while holding the lock at `path`. */
export async function withLock<T>(path: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(path, options)
  try { return await fn() } finally { await release() }
}

/** Makes the directory just created ours: writes the owner file and keeps its heartbeat going until release. */
async function hold(path: string, heartbeatMs: number): Promise<Release> {
  heldHere.add(path)
  const owner: Owner = { pid: process.pid, host: hostname(), since: Date.now() }
  try {
    await writeFile(ownerFile(path), JSON.stringify(owner))
  } catch (e) {
    await rm(path, { recursive: true, force: true })
    heldHere.delete(path)
    throw e
  }
  // Removed by the watchdog if this process is killed holding it, so that another host need not wait it out.
  watchLock(path, owner.since)
  // Unref'd: a held lock must not keep the process alive.
  const heartbeat = setInterval(() => { void refresh(path, owner) }, heartbeatMs).unref()
  let released = false
  return async () => {
    if (released) return
    released = true
    clearInterval(heartbeat)
    // An owner that stalled past the limit lost the lock; removing it then would free the new owner's.
    if (await isOurs(path, owner)) await rm(path, { recursive: true, force: true })
    heldHere.delete(path)
    unwatchLock(path)
  }
}

async function refresh(path: string, owner: Owner): Promise<void> {
  if (!await isOurs(path, owner)) return
  const now = new Date()
  // A failed refresh is retried by the next beat; the limit allows for several.
  await utimes(ownerFile(path), now, now).catch(() => {})
}

async function isOurs(path: string, owner: Owner): Promise<boolean> {
  const found = await readOwner(path)
  return !!found && found.pid === owner.pid && found.host === owner.host && found.since === owner.since
}

/**
 * Removes a stale lock under a guard, judging it stale again inside: without the guard, a process that judged the
 * old lock stale could delete the fresh lock another process has just taken in its place. False when another
 * process is doing it (the caller waits and looks again).
 */
async function removeStale(path: string, staleAfterMs: number): Promise<boolean> {
  const guard = `${path}.takeover`
  try {
    await mkdir(guard)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    // Held for milliseconds; one older than the stale limit (which allows for other hosts' clocks) was left by a killed process.
    const st = await stat(guard).catch(() => undefined)
    if (st && Date.now() - st.mtimeMs > staleAfterMs) await rm(guard, { recursive: true, force: true })
    return false
  }
  try {
    if ((await inspect(path, staleAfterMs)).stale) await rm(path, { recursive: true, force: true })
    return true
  } finally {
    await rm(guard, { recursive: true, force: true })
  }
}

/** A lock as a waiter sees it: its owner (when the owner file could be read) and how old the heartbeat is. */
interface Seen { stale: boolean; owner?: Owner; heartbeatAgeMs?: number }

async function inspect(path: string, staleAfterMs: number): Promise<Seen> {
  const [owner, st] = await Promise.all([readOwner(path), stat(ownerFile(path)).catch(() => undefined)])
  if (!owner || !st) {
    // The owner file is written right after mkdir: give its writer the same allowance as a heartbeat.
    const dir = await stat(path).catch(() => undefined)
    return { stale: !!dir && Date.now() - dir.mtimeMs > staleAfterMs }
  }
  const heartbeatAgeMs = Date.now() - st.mtimeMs
  return { stale: ownerIsGone(path, owner, heartbeatAgeMs, staleAfterMs), owner, heartbeatAgeMs }
}

function ownerIsGone(path: string, owner: Owner, heartbeatAgeMs: number, staleAfterMs: number): boolean {
  const onThisHost = owner.host === hostname()
  if (onThisHost && owner.pid === process.pid) return !heldHere.has(path)
  if (heartbeatAgeMs > staleAfterMs) return true
  if (!onThisHost) return false
  try { process.kill(owner.pid, 0); return false } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') return false
  }
  // A dead owner's watchdog may still be ending its children: they could write into what the lock guards.
  return !watchdogRunning(owner.pid)
}

/** What a look at a lock finds, without waiting or taking it: held (by an owner still alive), or free. */
export interface LockProbe { held: boolean; owner?: { pid: number; host: string; since: number } }

/**
 * Whether the lock at `lockPath` is held now by a live owner (another process, or this one). Never waits and never
 * takes the lock: for a command that must refuse, not wait, while another one works (`delete` of a home).
 */
export async function probeLock(lockPath: string, staleAfterMs: number = LOCK_DEFAULTS.staleAfterMs): Promise<LockProbe> {
  const path = resolve(lockPath)
  const dir = await stat(path).catch(() => undefined)
  if (!dir) return { held: false }
  const seen = await inspect(path, staleAfterMs)
  return seen.stale ? { held: false } : { held: true, ...(seen.owner ? { owner: seen.owner } : {}) }
}

const ownerFile = (path: string): string => `${path}/owner.json`

/** The owner file's content; undefined while it is missing, half written or not an owner. */
async function readOwner(path: string): Promise<Owner | undefined> {
  let value: unknown
  try { value = JSON.parse(await readFile(ownerFile(path), 'utf8')) } catch { return undefined }
  if (!value || typeof value !== 'object') return undefined
  const { pid, host, since } = value as Record<string, unknown>
  const valid = Number.isInteger(pid) && (pid as number) > 0 && typeof host === 'string' && Number.isFinite(since)
  return valid ? { pid: pid as number, host: host as string, since: since as number } : undefined
}

function waitingLine(what: string, seen: Seen, staleAfterMs: number): string {
  const takeover = `taken over if it stops refreshing for ${staleAfterMs / 1000} s`
  if (!seen.owner) return `waiting for ${what} (its holder has not written its owner file yet; ${takeover})`
  const { pid, host, since } = seen.owner
  const refreshed = Math.max(0, Math.round((seen.heartbeatAgeMs ?? 0) / 1000))
  return `waiting for ${what} (held by pid ${pid} on host ${host} since ${new Date(since).toTimeString().slice(0, 8)}, refreshed ${refreshed} s ago; ${takeover})`
}
