/**
 * A counting semaphore. The executor takes a slot only once a task's dependencies are done, so a
 * waiting task never holds one (the listr2 deadlock in reference/libs.md).
 */
export class Semaphore {
  #active = 0
  readonly #queue: (() => void)[] = []
  constructor(readonly size: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#active >= this.size) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.#queue.indexOf(go)
          if (i >= 0) this.#queue.splice(i, 1)
          reject(signal!.reason)
        }
        const go = () => { signal?.removeEventListener('abort', onAbort); resolve() }
        this.#queue.push(go)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    }
    this.#active++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#active--
      this.#queue.shift()?.()
    }
  }
}
