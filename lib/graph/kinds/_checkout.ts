import { TaskFailure, isRecord, type DeepCheck, type Json, type RunOutcome, type TaskContext } from '../plugin.ts'
import { readHead } from '../../git/read-head.ts'

/** What a clone task records: the folder and the commit its HEAD must be at. */
export interface Checkout { dir: string; commit: string }

export function parseCheckout(recorded: Json): Checkout | undefined {
  if (!isRecord(recorded)) return undefined
  const { dir, commit } = recorded
  return typeof dir === 'string' && typeof commit === 'string' ? { dir, commit } : undefined
}

/** The cheap output check of clone tasks: HEAD read from files, no git process. */
export const checkoutStands = async (c: Checkout): Promise<boolean> => readHead(c.dir) === c.commit

/** The deep check of a checkout (`verify`): HEAD at the commit, and no tracked file modified or deleted. */
export async function verifyCheckout(id: string, c: Checkout, ctx: TaskContext): Promise<DeepCheck[]> {
  const head = readHead(c.dir)
  if (head === undefined) return [{ id, status: 'missing', detail: `${c.dir} is not a checkout at a commit (deleted, or moved by hand)` }]
  if (head !== c.commit) return [{ id, status: 'drift', detail: `HEAD is ${head.slice(0, 10)}, the spec pins ${c.commit.slice(0, 10)}` }]
  const { localModifications } = await import('../../git/local-modifications.ts')
  const changed = await localModifications(c.dir, { env: ctx.processEnv, signal: ctx.signal })
  if (!changed.ok) return [{ id, status: 'drift', detail: changed.error.message }]
  const files = changed.value.filter(f => !/(^|\/)__pycache__\/|\.pyc$/.test(f))
  if (files.length) return [{ id, status: 'drift', detail: `modified or deleted: ${files.slice(0, 5).join(', ')}${files.length > 5 ? ` and ${files.length - 5} more` : ''}` }]
  return [{ id, status: 'ok' }]
}

/** Makes `dir` a checkout of `commit`, fetching into the shared mirror only when it lacks the commit. */
export async function checkoutRepo(ctx: TaskContext, o: { url: string; commit: string; dir: string; label: string }): Promise<RunOutcome<Checkout>> {
  // Imported here, not at the top: a no-op realize only reads HEAD and should not load the git adapter.
  const [{ ensureCommit }, { checkoutAt }] = await Promise.all([import('../../git/ensure-commit.ts'), import('../../git/checkout-at.ts')])
  const mirror = await ensureCommit({ cacheRoot: ctx.env.cacheRoot, url: o.url, commit: o.commit, offline: ctx.config.offline, env: ctx.processEnv, signal: ctx.signal, onWait: ctx.log, onProgress: ctx.progress })
  if (!mirror.ok) throw new TaskFailure(`${o.label}: ${mirror.error.message}`, mirror.error.files ?? [])
  const done = await checkoutAt({ mirror: mirror.value.mirror, url: o.url, commit: o.commit, dir: o.dir, force: ctx.force, restore: !!ctx.repair, env: ctx.processEnv, signal: ctx.signal })
  if (!done.ok) throw new TaskFailure(`${o.label}: ${done.error.message}`, done.error.files ?? [])
  const short = o.commit.slice(0, 10)
  const note = done.value.action === 'moved' ? `moved ${done.value.from?.slice(0, 10) ?? '?'} → ${short}`
    : done.value.action === 'cloned' ? `checked out ${short}${mirror.value.fetched ? ' (fetched)' : ''}` : `at ${short}`
  // Said once, in the task's own line: the mirror then holds every blob of the history.
  const whole = mirror.value.wholeHistory ? '; the server does not filter fetches, so the whole history was fetched' : ''
  return { outputs: { dir: o.dir, commit: o.commit }, note: `${note}${whole}` }
}
