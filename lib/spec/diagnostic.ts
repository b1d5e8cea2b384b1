import { isAbsolute, relative } from 'node:path'

/** One problem with an input file, located by JSON path (and line when known). */
export interface Diagnostic {
  /** The file as the user should see it (relative to the working directory when inside it). */
  file: string
  /** JSON path such as `custom_nodes[1].repo`; `(root)` for the whole document. */
  path: string
  message: string
  line?: number
  column?: number
}

/** A file as a diagnostic shows it: relative to the working directory when inside it, else as given. */
export const displayPath = (file: string): string => {
  const rel = relative(process.cwd(), file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out ? `.${String(seg)}` : String(seg)
  }
  return out || '(root)'
}

/** `versions/x.json: custom_nodes[0].repo: message (line 7)` */
export function renderDiagnostic(d: Diagnostic): string {
  const where = d.line ? ` (line ${d.line}${d.column ? `, column ${d.column}` : ''})` : ''
  return `${d.file}: ${d.path}: ${d.message}${where}`
}
