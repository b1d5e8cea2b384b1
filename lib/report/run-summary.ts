import type { RunResult, TaskStatus } from '../engine/results.ts'
import type { RunDocument } from './run-document.ts'

const counted = (doc: RunDocument, status: TaskStatus) => doc.tasks.filter(t => t.status === status)

/** The end-of-run summary for people, from the document --json prints: what failed, what it blocked, the counts. */
export function runSummary(doc: RunDocument, run: Pick<RunResult, 'cancelled'>): string[] {
  const lines: string[] = []
  const failed = counted(doc, 'failed')
  const blocked = counted(doc, 'blocked')
  for (const t of failed) {
    lines.push(`✖ ${t.id}: ${t.error}`)
    for (const d of ('details' in t ? t.details : undefined) ?? []) lines.push(`    ${d}`)
  }
  if (blocked.length) lines.push(`blocked (a dependency failed): ${blocked.map(t => t.id).join(', ')}`)
  const parts = [`${counted(doc, 'ran').length} ran`, `${counted(doc, 'skipped').length} up to date`]
  if (failed.length) parts.push(`${failed.length} failed`)
  if (blocked.length) parts.push(`${blocked.length} blocked`)
  const cancelled = counted(doc, 'cancelled').length
  if (cancelled) parts.push(`${cancelled} cancelled`)
  lines.push(`${doc.ok ? 'realized' : run.cancelled ? 'interrupted' : 'failed'}: ${doc.home} (${parts.join(', ')})`)
  return lines
}

/** A watch cycle in one line for people, from the cycle's document. */
export function cycleSummary(doc: RunDocument, run: Pick<RunResult, 'cancelled'>): string {
  const ran = counted(doc, 'ran').map(t => t.id)
  const failed = counted(doc, 'failed').map(t => `${t.id} (${t.error})`)
  const state = run.cancelled ? 'superseded' : doc.ok ? 'ok' : 'failed'
  return `cycle ${doc.cycle}: ${state}; ran ${ran.length ? ran.join(', ') : 'nothing'}; ${counted(doc, 'skipped').length} up to date${failed.length ? `; failed: ${failed.join(', ')}` : ''}`
}
