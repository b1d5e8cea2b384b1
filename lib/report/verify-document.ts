import { drifted, IMPORT_TASK, type VerifyRow } from '../pipeline/verify.ts'

/** `verify --json` (design.md 8.2). */
export interface VerifyDocument {
  version: string
  home: string
  ok: boolean
  checks: { id: string; status: VerifyRow['status']; detail?: string }[]
}

export const verifyDocument = (head: { version: string; home: string }, rows: readonly VerifyRow[]): VerifyDocument => ({
  ...head,
  ok: rows.every(r => r.status === 'ok'),
  checks: rows.map(r => ({ id: r.id, status: r.status, ...(r.detail ? { detail: r.detail } : {}) })),
})

/** What `realize --repair` would do about a row that does not hold. */
function repairFor(row: VerifyRow): string {
  if (row.task === 'clone-core' || row.task.startsWith('clone-node:')) {
    return row.detail?.startsWith('modified') ? 'realize --repair --force resets the checkout (without --force the files are kept and named)' : 'realize --repair checks it out again'
  }
  if (row.task.startsWith('unpack-node:')) return 'realize --repair unpacks the archive again (files you added stay)'
  if (row.task === 'link') return 'realize --repair links the model again'
  if (row.task === 'uv-install') return 'realize --repair installs the lock again'
  if (row.id.startsWith('import:')) return 'the node\'s own error (repair does not change code): pin another commit or version, or add what it lacks to python.requirements'
  return `realize --repair runs ${row.task} again`
}

/** The human summary: one line per check that does not hold, with what repair would do, then the count. */
export function verifyText(doc: VerifyDocument, rows: readonly VerifyRow[]): string {
  const bad = rows.filter(r => r.status !== 'ok')
  const lines = bad.map(r => `${r.status.padEnd(7)} ${r.id}${r.detail ? `: ${r.detail}` : ''}\n        → ${repairFor(r)}`)
  const summary = doc.ok
    ? `${doc.version}: ${rows.length} check(s), all hold (${doc.home})`
    : `${doc.version}: ${bad.length} of ${rows.length} check(s) do not hold (${doc.home})${repairNote(doc.version, bad)}`
  // The protected set, always: what the environment keeps whatever nodes ask (python.protect).
  const kept = rows.filter(r => r.status === 'ok' && r.id.startsWith('python:') && r.detail?.endsWith('(kept: protected)'))
    .map(r => `${r.id.slice('python:'.length)} ${r.detail!.split(' ')[0]}`)
  if (kept.length) lines.push(`protected (kept at their installed build): ${kept.join(', ')}`)
  return `${[...lines, summary].join('\n')}\n`
}

/** What repair can do about the rows that do not hold: import failures are the nodes' own. */
function repairNote(version: string, bad: readonly VerifyRow[]): string {
  const repairable = drifted(bad).length
  if (!repairable) return ''
  const own = bad.filter(r => r.task === IMPORT_TASK).length
  return `; \`realize ${version} --repair\` brings ${own ? 'back all but the import failures' : 'them back'}`
}
