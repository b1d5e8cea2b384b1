import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Limit } from '../lib/util/limit.ts'

/**
 * Every interleaving below is fixed by the order of synchronous calls and settled by draining the
 * event loop once (setImmediate runs after every pending promise job): no timers, no races.
 */
const drain = () => new Promise<void>(resolve => setImmediate(resolve))

/** A promise's state after the loop is drained, without waiting for it. */
function watch<T>(p: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; readonly value?: T; readonly error?: unknown } {
  const w: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' }
  p.then(value => { w.state = 'resolved'; w.value = value }, error => { w.state = 'rejected'; w.error = error })
  return w
}

/** Counts the callers that hold a slot: acquire() wrapped so the count moves when a caller gets in or lets go. */
function holders(limit: Limit) {
  let now = 0
  let peak = 0
  return {
    get now() { return now },
    get peak() { return peak },
    acquire: async (signal?: AbortSignal) => {
      const release = await limit.acquire(signal)
      now++
      peak = Math.max(peak, now)
      let done = false
      return () => { if (!done) { done = true; now-- } release() }
    },
  }
}

test('a release hands the slot to the waiter: a newcomer in the same tick waits behind it', async () => {
  const limit = new Limit(1)
  const h = holders(limit)
  const first = await h.acquire()
  const waiter = watch(h.acquire())
  await drain()
  assert.is(waiter.state, 'pending')
  first()
  // The same tick as the release, before the waiter has run: the slot is already the waiter's.
  const newcomer = watch(h.acquire())
  await drain()
  assert.is(h.now, 1, 'two callers hold a limit of one')
  assert.is(waiter.state, 'resolved')
  assert.is(newcomer.state, 'pending')
  waiter.value!()
  await drain()
  assert.is(newcomer.state, 'resolved')
  assert.is(h.peak, 1)
})

test('waiters get their slot in the order they asked', async () => {
  const limit = new Limit(1)
  const order: string[] = []
  const first = await limit.acquire()
  const asks = ['a', 'b', 'c'].map(name => limit.acquire().then(release => { order.push(name); return release }))
  first()
  for (const ask of asks) (await ask)()
  assert.equal(order, ['a', 'b', 'c'])
})

test('a burst never holds more than the size', async () => {
  const limit = new Limit(3)
  const h = holders(limit)
  await Promise.all(Array.from({ length: 12 }, async () => {
    const release = await h.acquire()
    await drain()
    release()
  }))
  assert.is(h.peak, 3)
  assert.is(h.now, 0)
})

test('aborting a wait removes the waiter and rejects with the signal\'s reason', async () => {
  const limit = new Limit(1)
  const h = holders(limit)
  const first = await h.acquire()
  const ac = new AbortController()
  const reason = new Error('stop')
  const aborted = watch(h.acquire(ac.signal))
  const next = watch(h.acquire())
  ac.abort(reason)
  await drain()
  assert.is(aborted.state, 'rejected')
  assert.is(aborted.error, reason)
  // The slot skips the aborted waiter.
  first()
  await drain()
  assert.is(next.state, 'resolved')
  assert.is(h.now, 1)
  // Nothing is left in the queue to swallow the slot: after this release it is free.
  next.value!()
  const last = watch(h.acquire())
  await drain()
  assert.is(last.state, 'resolved')
  assert.is(h.now, 1)
})

test('an already aborted signal takes no slot, free or not', async () => {
  const limit = new Limit(1)
  const h = holders(limit)
  const reason = new Error('already')
  const onFree = watch(h.acquire(AbortSignal.abort(reason)))
  await drain()
  assert.is(onFree.state, 'rejected')
  assert.is(onFree.error, reason)
  assert.is(h.now, 0)
  const held = await h.acquire()
  const onFull = watch(h.acquire(AbortSignal.abort(reason)))
  await drain()
  assert.is(onFull.state, 'rejected')
  held()
  const after = watch(h.acquire())
  await drain()
  assert.is(after.state, 'resolved')
})

test('a release is idempotent: a second call frees no second slot', async () => {
  const limit = new Limit(1)
  const h = holders(limit)
  const release = await limit.acquire()
  const waiter = watch(h.acquire())
  const other = watch(h.acquire())
  release()
  release()
  await drain()
  assert.is(waiter.state, 'resolved')
  assert.is(other.state, 'pending')
  assert.is(h.now, 1)
})

test('a size below one is a bug', () => {
  assert.throws(() => new Limit(0), RangeError)
  assert.throws(() => new Limit(Number.NaN), RangeError)
  assert.is(new Limit(Number.POSITIVE_INFINITY).size, Number.POSITIVE_INFINITY)
})

test.run()
