/** Runs at most `n` functions at a time; the others wait in order. */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>

export function createLimit(n: number): Limit {
  let active = 0
  const waiting: (() => void)[] = []
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A finishing call hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (active >= n) await new Promise<void>(resolve => waiting.push(resolve))
    else active++
    try { return await fn() } finally {
      const next = waiting.shift()
      if (next) next()
      else active--
    }
  }
}
