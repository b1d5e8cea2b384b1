import { OUTPUTS_CHANGED } from '../engine/freshness.ts'
import type { RunDocument } from './run-document.ts'

/**
 * Said once at the end of a realize: tasks whose fingerprint matched but whose outputs were gone or changed (a node
 * folder deleted, the venv replaced), which only a change outside the tool explains.
 */
export function outsideChangesNote(doc: RunDocument): string | undefined {
  const touched = doc.tasks.filter(t => t.status !== 'skipped' && t.reason === OUTPUTS_CHANGED).map(t => t.id)
  if (!touched.length) return undefined
  return `note: ${doc.home} was changed outside comfy-vc since its last realize (${touched.join(', ')}: what they made was missing or changed); realize made it again. \`verify ${doc.version}\` finds such changes without changing anything`
}
