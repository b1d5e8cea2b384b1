import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cacheLayout } from '../layout/cache.ts'
import { makeWorkDir } from '../util/atomic.ts'
import { err, ok, type Result } from '../result.ts'
import { redact } from '../util/redact.ts'
import { renderConstraints, type CollectedDeps } from './collect.ts'
import { parseInstalled, runInstaller, type InstallOptions, type InstallProblem } from './install.ts'

export interface PerNodeOutcome {
  source: string
  ok: boolean
  /** Why it failed, redacted. */
  message?: string
}

export const PER_NODE_WARNING = 'warning: python.on_conflict is "per-node": each node pack\'s requirements are installed '
  + 'separately, so where they disagree the last one wins and an earlier node pack may get versions it does not support'

/**
 * Seed 004's fallback, opted into with `python.on_conflict: "per-node"`: each source's
 * requirements (the spec's, the core's, then each node pack's) are installed on their own,
 * with the collected constraints, one after another. A source that fails is reported and the
 * others still run; only cancellation stops the loop.
 */
export async function installPerNode(o: Omit<InstallOptions, 'lockPath'> & { collected: CollectedDeps }): Promise<Result<{ outcomes: PerNodeOutcome[]; installed: string[] }, InstallProblem>> {
  o.onLine?.(PER_NODE_WARNING)
  const bySource = new Map<string, string[]>()
  for (const r of o.collected.requirements) {
    const list = bySource.get(r.source) ?? []
    if (!list.includes(r.spec)) list.push(r.spec)
    bySource.set(r.source, list)
  }
  const work = await makeWorkDir(cacheLayout(o.cacheRoot).tmp, 'per-node-')
  const outcomes: PerNodeOutcome[] = []
  const installed: string[] = []
  try {
    const constraintsText = renderConstraints(o.collected)
    const constraints = constraintsText ? join(work, 'constraints.txt') : undefined
    if (constraints) await writeFile(constraints, constraintsText)
    let i = 0
    for (const [source, specs] of bySource) {
      const file = join(work, `requirements-${i++}.txt`)
      await writeFile(file, `${specs.join('\n')}\n`)
      o.onLine?.(`installing the requirements of ${source}`)
      const r = await runInstaller(o, file, constraints)
      if (!r.ok && r.error.reason === 'cancelled') return err(r.error)
      if (r.ok) {
        outcomes.push({ source, ok: true })
        installed.push(...parseInstalled(`${r.value.stdout}\n${r.value.stderr}`))
      } else {
        outcomes.push({ source, ok: false, message: redact(r.error.message) })
        o.onLine?.(`warning: the requirements of ${source} could not be installed: ${redact(r.error.message.split('\n')[0] ?? '')}`)
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return ok({ outcomes, installed: [...new Set(installed)] })
}
