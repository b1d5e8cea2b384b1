import { isAbsolute, relative, resolve } from 'node:path'

/** One problem with an input file, located by JSON path (and line when known). */
export interface Diagnostic {
  /**
   * The file as lib/ was given it (absolute for specs and configs); {@link renderDiagnostic} shows it relative to
   * the working directory when inside it. lib/ does not know the working directory: the command line does.
   */
  file: string
  /** JSON path such as `custom_nodes[1].repo`; `(root)` for the whole document. */
  path: string
  message: string
  line?: number
  column?: number
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out ? `.${String(seg)}` : String(seg)
  }
  return out || '(root)'
}

/** `versions/x.json: custom_nodes[0].repo: message (line 7)`, the file shown relative to `cwd` when inside it. */
export function renderDiagnostic(d: Diagnostic, cwd: string): string {
  const where = d.line ? ` (line ${d.line}${d.column ? `, column ${d.column}` : ''})` : ''
  return `${displayPath(d.file, cwd)}: ${d.path}: ${d.message}${where}`
}

/** A path as a user in `cwd` (absolute) would type it: relative when inside `cwd`, absolute otherwise. */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, resolve(cwd, file))
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}
