import { applyEdits, modify, type FormattingOptions } from 'jsonc-parser'

/** The spec lists `add-node`, `add-model` and `remove` edit. */
export type SpecList = 'custom_nodes' | 'models'

/**
 * Appends one entry to a list of the spec text. The rest of the text stays byte for byte (as `applyPins` keeps it);
 * the new entry is laid out in the file's own indentation and line ends, keys in the order given. A missing list
 * is added at the end of the object.
 */
export function appendEntry(text: string, list: SpecList, entry: Record<string, unknown>): string {
  return applyEdits(text, modify(text, [list, -1], entry, { formattingOptions: formatting(text), isArrayInsertion: true }))
}

/** Removes the entry at `index` of a list of the spec text, with its separator; the rest stays byte for byte. */
export function removeEntry(text: string, list: SpecList, index: number): string {
  return applyEdits(text, modify(text, [list, index], undefined, { formattingOptions: formatting(text) }))
}

// --- internal ---

/** The indentation of the file's first indented line (two spaces when there is none) and its line end. */
function formatting(text: string): FormattingOptions {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  '
  const tabs = indent.startsWith('\t')
  return { insertSpaces: !tabs, tabSize: tabs ? 1 : indent.length, eol: text.includes('\r\n') ? '\r\n' : '\n' }
}
