import type { RunResult, TaskStatus } from '../engine/results.ts'
import type { RunDocument } from './run-document.ts'
import { formatDuration } from '../fetch/progress.ts'

/** A task that took this long is named with its time in the summary. */
export const SLOW_MS = 1_000
/** At most this many up-to-date tasks are named; the rest are counted. */
const NAMED_SKIPS = 6

const counted = (doc: RunDocument, status: TaskStatus) => doc.tasks.filter(t => t.status === status)

/** The end-of-run summary for people, from the document --json prints: what failed, what it blocked, the counts. */
export function runSummary(doc: RunDocument, run: Pick<RunResult, 'cancelled'>): string[] {
  const lines: string[] = []
  const failed = counted(doc, 'failed')
  const blocked = counted(doc, 'blocked')
  // The slow tasks first, slowest first, with their own times; then the others in the graph's order.
  const ms = (t: RunDocument['tasks'][number]) => ('ms' in t ? t.ms ?? 0 : 0)
  const ran = counted(doc, 'ran')
  const slow = ran.filter(t => ms(t) >= SLOW_MS).sort((a, b) => ms(b) - ms(a))
  const quick = ran.filter(t => ms(t) < SLOW_MS)
  if (ran.length) lines.push(`ran: ${[...slow.map(t => `${t.id} ${formatDuration(ms(t) / 1000)}`), ...quick.map(t => t.id)].join(', ')}`)
  const skipped = counted(doc, 'skipped')
  if (skipped.length) lines.push(`up to date: ${skipped.slice(0, NAMED_SKIPS).map(t => t.id).join(', ')}${skipped.length > NAMED_SKIPS ? ` and ${skipped.length - NAMED_SKIPS} more` : ''}`)
  // The cause of each failure, once: the display above says only which task failed.
  for (const t of failed) {
    const error = t.error ?? ''
    // Cause first, then what the tool saw, then the fix: a "Fix:" line in the error goes last.
    const at = error.search(/\nFix: /)
    const [cause, fix] = at >= 0 ? [error.slice(0, at), error.slice(at + 1)] : [error, undefined]
    lines.push(`✖ ${t.id}: ${cause}`)
    for (const d of ('details' in t ? t.details : undefined) ?? []) if (d.trim() && !error.includes(d.trim())) lines.push(`    ${d}`)
    if (fix) lines.push(fix)
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
