import type { PlanRow } from '../engine/results.ts'
import type { RunSubject } from './run-document.ts'

/** `plan --json`: the run's shape, each row `run` or `skip` with its reason. */
export interface PlanDocument {
  version: string; home: string; ok: true; tasks: PlanRow[]
  /** The protected packages the environment has now: the next compile keeps them (python.protect). */
  python?: { protected: string[] }
}

export const planDocument = (subject: RunSubject, rows: PlanRow[], python?: PlanDocument['python']): PlanDocument =>
  ({ version: subject.version, home: subject.home, ok: true, tasks: rows, ...(python ? { python } : {}) })

/** The plan for people, from the same document: a line per task, then what would run. */
export function planText(doc: PlanDocument): string {
  const w = Math.max(...doc.tasks.map(r => r.id.length))
  const lines = doc.tasks.map(r => `${r.status === 'run' ? 'run ' : 'skip'}  ${r.id.padEnd(w)}  ${r.reason}`)
  if (doc.python) lines.push(`protected (kept at their installed build): ${doc.python.protected.join(', ') || 'none'}`)
  const n = doc.tasks.filter(r => r.status === 'run').length
  lines.push(`${n ? `${n} of ${doc.tasks.length} tasks would run` : 'up to date: nothing to run'} (home ${doc.home})`)
  return `${lines.join('\n')}\n`
}
