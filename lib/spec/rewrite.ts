import { findNodeAtLocation, parseTree, type Node, type ParseError } from 'jsonc-parser'

/** Values `validate` resolved, to be written into the spec text. Indexes are positions in `custom_nodes` / `models`. */
export interface Pins {
  comfyui?: { commit: string }
  nodes?: Array<{ index: number; commit?: string; version?: string; sha256?: string }>
  models?: Array<{ index: number; sha256?: string; size?: number }>
}

interface Edit { offset: number; length: number; content: string }

/**
 * Writes pinned commits, sha256 and sizes into spec text. Everything else stays byte for byte: an existing value is
 * replaced in place, a missing key goes right after `ref` (repositories) or `url` (models), in the style of its
 * siblings. The text must be a spec that loaded (plain JSON without comments); anything else is a caller bug.
 */
export function applyPins(text: string, pins: Pins): string {
  const root = parseJson(text)
  const edits: Edit[] = []
  if (pins.comfyui) {
    edits.push(...setFields(text, objectAt(root, ['comfyui']), [['commit', pins.comfyui.commit]], ['ref', 'repo']))
  }
  for (const pin of pins.nodes ?? []) {
    const at = objectAt(root, ['custom_nodes', pin.index])
    if (pin.commit !== undefined) edits.push(...setFields(text, at, [['commit', pin.commit]], ['ref', 'repo']))
    const fields: [string, unknown][] = []
    if (pin.version !== undefined) fields.push(['version', pin.version])
    if (pin.sha256 !== undefined) fields.push(['sha256', pin.sha256])
    if (fields.length) edits.push(...setFields(text, at, fields, ['version', 'registry']))
  }
  for (const pin of pins.models ?? []) {
    const fields: [string, unknown][] = []
    if (pin.sha256 !== undefined) fields.push(['sha256', pin.sha256])
    if (pin.size !== undefined) fields.push(['size', pin.size])
    edits.push(...setFields(text, objectAt(root, ['models', pin.index]), fields, ['sha256', 'url', 'path']))
  }
  return applyEdits(text, edits)
}

/** The same spec under a new id (for `clone`), formatting untouched. */
export function renameId(text: string, newId: string): string {
  const root = parseJson(text)
  if (root.type !== 'object') throw new Error('renameId: the spec is not a JSON object')
  return applyEdits(text, setFields(text, root, [['id', newId]], ['schema_version', '$schema']))
}

// --- internal ---

function parseJson(text: string): Node {
  const errors: ParseError[] = []
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false })
  if (!root || errors.length) throw new Error('cannot rewrite the spec: it is not valid JSON (load and validate it first)')
  return root
}

function objectAt(root: Node, path: (string | number)[]): Node {
  const node = findNodeAtLocation(root, path)
  if (!node || node.type !== 'object') throw new Error(`cannot rewrite the spec: no object at ${JSON.stringify(path)}`)
  return node
}

const properties = (obj: Node): Node[] => obj.children ?? []
const keyOf = (prop: Node): string => prop.children?.[0]?.value as string

/**
 * Sets `fields` (in their order) on an object. Existing keys get their value replaced; missing keys are inserted in a
 * run after the previous field, or after the first existing `anchors` key.
 */
function setFields(text: string, obj: Node, fields: [string, unknown][], anchors: string[]): Edit[] {
  const props = properties(obj)
  const find = (key: string) => props.find(p => keyOf(p) === key)
  const edits: Edit[] = []
  let anchor = anchors.map(find).find(p => p !== undefined) ?? props[props.length - 1]
  let pending: [string, unknown][] = []
  const flush = () => {
    if (pending.length) edits.push(insertAfter(text, obj, anchor, pending))
    pending = []
  }
  for (const [key, value] of fields) {
    const existing = find(key)
    if (!existing) {
      pending.push([key, value])
      continue
    }
    flush()
    const valueNode = existing.children?.[1]
    if (valueNode) edits.push({ offset: valueNode.offset, length: valueNode.length, content: JSON.stringify(value) })
    anchor = existing
  }
  flush()
  return edits
}

/** Inserts `"key": value` pairs after `prop` with the separator, indentation and colon style of the siblings. */
function insertAfter(text: string, obj: Node, prop: Node | undefined, fields: [string, unknown][]): Edit {
  if (!prop) {
    // An empty object: `{}` becomes `{"key": value}`.
    const body = fields.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')
    return { offset: obj.offset + 1, length: 0, content: body }
  }
  const props = properties(obj)
  const next = props[props.indexOf(prop) + 1]
  // The next sibling's leading whitespace is the best model: the first property may share the "{" line. An only
  // property glued to its "{" says nothing: `{"repo": "x"}` spaces its colon, so it gets `, `; minified JSON `,`.
  const colon = colonStyle(text, prop)
  const gap = leadingWhitespace(text, (next ?? prop).offset) || (colon.endsWith(' ') ? ' ' : '')
  const body = fields.map(([k, v]) => `,${gap}${JSON.stringify(k)}${colon}${JSON.stringify(v)}`).join('')
  return { offset: prop.offset + prop.length, length: 0, content: body }
}

function leadingWhitespace(text: string, offset: number): string {
  let start = offset
  while (start > 0 && /[ \t\r\n]/.test(text[start - 1] ?? '')) start--
  return text.slice(start, offset)
}

/** What stands between a key and its value, e.g. `: ` or `:`. */
function colonStyle(text: string, prop: Node): string {
  const key = prop.children?.[0]
  const value = prop.children?.[1]
  return key && value ? text.slice(key.offset + key.length, value.offset) : ': '
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text
  for (const e of [...edits].sort((a, b) => b.offset - a.offset)) {
    out = out.slice(0, e.offset) + e.content + out.slice(e.offset + e.length)
  }
  return out
}
