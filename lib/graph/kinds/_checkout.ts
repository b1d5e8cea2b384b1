import { TaskFailure, isRecord, type Json, type RunOutcome, type TaskContext } from '../plugin.ts'
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

/** Makes `dir` a checkout of `commit`, fetching into the shared mirror only when it lacks the commit. */
export async function checkoutRepo(ctx: TaskContext, o: { url: string; commit: string; dir: string; label: string }): Promise<RunOutcome<Checkout>> {
  // Imported here, not at the top: a no-op realize only reads HEAD and should not load the git adapter.
  const [{ ensureCommit }, { checkoutAt }] = await Promise.all([import('../../git/ensure-commit.ts'), import('../../git/checkout-at.ts')])
  const mirror = await ensureCommit({ cacheRoot: ctx.env.cacheRoot, url: o.url, commit: o.commit, offline: ctx.config.offline, env: ctx.processEnv, signal: ctx.signal, onWait: ctx.log, onProgress: ctx.progress })
  if (!mirror.ok) throw new TaskFailure(`${o.label}: ${mirror.error.message}`, mirror.error.files ?? [])
  const done = await checkoutAt({ mirror: mirror.value.mirror, url: o.url, commit: o.commit, dir: o.dir, force: ctx.force, env: ctx.processEnv, signal: ctx.signal })
  if (!done.ok) throw new TaskFailure(`${o.label}: ${done.error.message}`, done.error.files ?? [])
  const short = o.commit.slice(0, 10)
  const note = done.value.action === 'moved' ? `moved ${done.value.from?.slice(0, 10) ?? '?'} → ${short}`
    : done.value.action === 'cloned' ? `checked out ${short}${mirror.value.fetched ? ' (fetched)' : ''}` : `at ${short}`
  return { outputs: { dir: o.dir, commit: o.commit }, note }
}
