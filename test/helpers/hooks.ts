/**
 * uvu swallows what a `before`, `after` or `after.each` hook throws (uvu#191): a setup that fails prints "(0 / 2)"
 * and the file still passes. Wrap every hook so that its failure ends the run, loudly:
 *
 *   S.before(guarded(async ctx => { ctx.w = await makeWorld() }))
 *   S.after.each(guarded(killLeftovers))
 *
 * (wireit did the same while it used uvu.)
 */
export function guarded<C = unknown>(hook: (ctx: C) => unknown): (ctx: C) => Promise<void> {
  return async ctx => {
    try {
      await hook(ctx)
    } catch (e) {
      console.error(`a test hook failed (uvu would not report it, uvu#191):\n${e instanceof Error ? e.stack ?? e.message : String(e)}`)
      // exitCode is not enough: uvu sets it itself at the end of the run, from the test failures it saw.
      process.exit(1)
    }
  }
}
