/** Gives a slot back; calling it again does nothing. */
export type Release = () => void

/**
 * At most `size` holders at a time; the others wait in the order they asked. The one concurrency limit of the
 * tool: the executor's per-resource slots (taken once a task's dependencies are done, so a waiting task never
 * holds one) and every other bounded fan-out (ref resolution, HEAD requests, downloads).
 *
 * A release hands its slot straight to the first waiter (the count of holders does not drop in between), so a
 * caller that asks in the same tick cannot slip in beside it. Aborting a wait removes the waiter at once and
 * rejects with the signal's reason; a signal that is already aborted never takes a slot, even a free one.
 */
export class Limit {
  #active = 0
  readonly #waiting: (() => void)[] = []

  constructor(readonly size: number) {
    if (!(size >= 1)) throw new RangeError(`a limit needs a size of at least 1, got ${size}`)
  }

  /** Resolves with the slot's release once one is free; rejects with `signal.reason` when aborted first. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#active < this.size) {
      this.#active++
      return Promise.resolve(this.#releaser())
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant)
        if (i >= 0) this.#waiting.splice(i, 1)
        reject(signal!.reason)
      }
      // Called by a release that has already counted this waiter as a holder.
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve(this.#releaser())
      }
      this.#waiting.push(grant)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  // --- internal ---

  #releaser(): Release {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      if (next) next()
      else this.#active--
    }
  }
}
