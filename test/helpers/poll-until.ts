/**
 * Waits for a state that another process (or the thread pool) reaches without telling us: a file that grows, a log
 * line a shim appends. The check decides when the wait ends, never the clock: the poll interval only sets how soon
 * it is noticed, and the guard only turns a hang into a failure that says what was awaited.
 *
 *   await pollUntil('the partial to hold 300000 bytes', () => sizeOf(partial) === 300_000)
 *   const n = await pollUntil('a checkout', () => shim.count('checkout') || undefined)
 *
 * Use it for states that stay true once reached; for a condition that may flip back, wait on an event instead.
 */
import { setTimeout as sleep } from 'node:timers/promises'

export async function pollUntil<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  o: { everyMs?: number; guardMs?: number; explain?: () => string } = {}): Promise<T> {
  const guardMs = o.guardMs ?? 60_000
  const giveUp = Date.now() + guardMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > giveUp) throw new Error(`still waiting for ${what} after ${guardMs / 1000} s${o.explain ? `\n${o.explain()}` : ''}`)
    await sleep(o.everyMs ?? 10)
  }
}
