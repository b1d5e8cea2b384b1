/**
 * Fails a test that hangs instead of hanging the run (uvu has no timeouts of its own, uvu#33). A guard, not a
 * measurement: the limit is far above what the test needs on a loaded machine, and nothing asserts on time.
 *
 *   S('starts and stops', within(async ctx => { … }))          // 30 s
 *   S('a whole watch session', within(async () => { … }, 90_000))
 */
export function within<C = unknown>(fn: (ctx: C) => Promise<void>, ms = 30_000): (ctx: C) => Promise<void> {
  return async ctx => {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`test timed out after ${ms / 1000} s`)), ms) })
    try { await Promise.race([fn(ctx), limit]) } finally { clearTimeout(timer) }
  }
}
