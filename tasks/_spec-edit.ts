/** What add-node, add-model, remove, update and validate share: the spec loaded for an edit, and the edited text written back. */
import { writeFileAtomic } from '../lib/util/atomic.ts'
import { loadSpecFile, displayPath, type LoadedSpec } from '../lib/spec/load.ts'
import { renderDiagnostic, type Diagnostic } from '../lib/spec/diagnostic.ts'
import { parseSpecText } from '../lib/spec/parse-spec.ts'
import { specFile } from '../lib/pipeline/prepare.ts'
import type { ResolvedConfig } from '../lib/config/resolve.ts'
import { configFor, printJson, reportDiagnostics, EXIT, type Io, type ParsedArgs } from './_cli.ts'
import { errorsDocument } from '../lib/report/run-document.ts'

export interface EditTarget { config: ResolvedConfig; loaded: LoadedSpec; shown: string }

/** The configuration and the spec to edit, or the exit code once its problems are reported (a spec that does not load is not edited). */
export async function loadForEdit(args: ParsedArgs, io: Io, id: string, json: boolean, overrides: { offline?: boolean } = {}): Promise<EditTarget | number> {
  const config = await configFor(args, io, overrides)
  if (Array.isArray(config)) return reportDiagnostics(io, config, json)
  const loaded = await loadSpecFile(specFile(config, id))
  if (!loaded.ok) return reportDiagnostics(io, loaded.error, json, { version: id })
  return { config, loaded: loaded.value, shown: displayPath(loaded.value.file, io.cwd) }
}

/**
 * Writes the edited text when it loads back as a valid spec. A problem inside the new entry (`entryPath`, e.g.
 * `custom_nodes[3]`) is the argument's fault and is said as `label: message`; the file is left as it was.
 */
export async function writeEdited(io: Io, json: boolean, target: EditTarget, text: string, entry?: { path: string; label: string }): Promise<number | undefined> {
  const { loaded } = target
  const check = parseSpecText(text, loaded.file, loaded.spec.id)
  if (check.ok) {
    await writeFileAtomic(loaded.file, text) // a kill mid-write must not leave a truncated spec
    return undefined
  }
  const lines = check.error.map((d: Diagnostic) => entry && (d.path === entry.path || d.path.startsWith(`${entry.path}.`))
    ? `${entry.label}: ${d.message}` : renderDiagnostic(d, io.cwd))
  for (const l of lines) io.err(l)
  io.err(`nothing was written to ${target.shown}`)
  if (json) printJson(io, errorsDocument(lines, { version: loaded.spec.id }))
  return EXIT.usage
}
