import type { ValidateResult } from '../pipeline/validate.ts'

/** `validate --json`: what was pinned, what stays unpinned and why, and the errors that made it exit 1. */
export const validateDocument = (o: { version: string; file: string }, r: ValidateResult) => ({
  ok: r.failures.length === 0, version: o.version, file: o.file, written: r.written, lock: r.lockPath ?? null,
  pinned: r.pinned, kept: r.kept, unpinned: r.unpinned, notes: r.notes, errors: r.failures,
})

/** The same result for people, a line each. */
export function validateSummary(r: ValidateResult, shown: { file: string; lock: string }): string[] {
  return [
    ...r.pinned.map(p => `pinned ${p.what}: ${p.path} = ${p.value}${p.from ? ` (from ${p.from})` : ''}`),
    ...r.kept.map(p => `kept ${p.what}: ${p.path} = ${p.value} (${p.from})`),
    ...r.unpinned.map(u => `not pinned: ${u.what}${u.problem ? `: ${u.problem}` : ''}`),
    ...r.notes.map(n => `note: ${n}`),
    ...r.failures.map(f => `error: ${f}`),
    `${shown.file}: ${r.written ? 'pins written' : 'nothing to change'}; lock ${shown.lock}`,
  ]
}

/** `validate --check --json`: whether everything is pinned, and what is not. */
export const pinCheckDocument = (version: string, missing: { path: string; what: string }[]) => ({ ok: missing.length === 0, version, unpinned: missing })
