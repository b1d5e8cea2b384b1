/**
 * Kill points (issue 21), a few of bench/kill-points.ts's: a realize SIGKILLed at random moments leaves no
 * process running, and the next realize converges (exit 0, the right tree), then finds nothing to do.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { killPointWorld, runKillPoints, type KillPointWorld } from '../bench/kill-points.ts'
import { guarded } from './helpers/hooks.ts'

const K = suite<{ w: KillPointWorld }>('kill points')
K.before(guarded(async ctx => { ctx.w = await killPointWorld() }))
K.after(guarded(async ctx => { await ctx.w.cleanup() }))

K('3 SIGKILLs of a realize with nodes, a model and Python dependencies: no child left, each converges', async ctx => {
  const outcomes = await runKillPoints(ctx.w, 3)
  const failed = outcomes.filter(o => o.problems.length)
  assert.equal(failed.map(o => `${o.killAfterMs} ms: ${o.problems.join('; ')}`), [])
})

K.run()
