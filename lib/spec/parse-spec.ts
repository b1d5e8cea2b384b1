/** Spec validation proper (zod): loaded only when a spec's text is not known to be valid already. */
import { parse, parseTree, findNodeAtLocation, printParseErrorCode, type ParseError, type Node } from 'jsonc-parser'
import type { z } from 'zod'
import { SpecSchema, type Spec } from './schema.ts'
import { nameSkeleton, nodeName } from './names.ts'
import { formatPath, type Diagnostic } from './diagnostic.ts'
import { err, ok, type Result } from '../result.ts'
import { redact } from '../util/redact.ts'

/** A spec as loaded: the validated value, plus the text it came from (for rewriting it in place). */
export interface LoadedSpec {
  spec: Spec
  file: string
  text: string
}

/** Validates spec text; `expectedId` is the file name without `.json`. */
export function parseSpecText(text: string, file: string, expectedId: string): Result<LoadedSpec, Diagnostic[]> {
  const shown = file
  try {
    return parseChecked(text, file, shown, expectedId)
  } catch (e) {
    // The JSON parser recurses: thousands of nested brackets exhaust the stack. No spec looks like that.
    if (e instanceof RangeError) return err([{ file: shown, path: '(root)', message: 'is nested too deeply to be a spec (thousands of levels of brackets)' }])
    throw e
  }
}

function parseChecked(text: string, file: string, shown: string, expectedId: string): Result<LoadedSpec, Diagnostic[]> {
  const syntax = jsonSyntaxErrors(text, shown)
  if (syntax.length) return err(syntax)
  const tree = parseTree(text)
  const at = (path: (string | number)[], message: string): Diagnostic => ({ file: shown, path: formatPath(path), message, ...locate(text, tree, path) })
  // JSON.parse and jsonc-parser keep the last of two equal keys, and "__proto__" sets an object's prototype:
  // either would make the tool read something other than what validate rewrites.
  const keys = keyProblems(tree, [], at)
  if (keys.length) return err(keys)
  const raw: unknown = parse(text)
  const diagnostics: Diagnostic[] = []

  const parsed = SpecSchema.safeParse(raw, { reportInput: true })
  if (!parsed.success) diagnostics.push(...parsed.error.issues.flatMap(issue => issueToDiagnostics(issue, at)))
  // Cross-field checks read the raw value, so they report even when the schema found other problems.
  diagnostics.push(...semanticProblems(raw, expectedId, at))
  if (parsed.success && !diagnostics.length) return ok({ spec: parsed.data, file, text })
  return err(diagnostics)
}

function keyProblems(node: Node | undefined, path: (string | number)[], at: (p: (string | number)[], m: string) => Diagnostic): Diagnostic[] {
  if (!node) return []
  const out: Diagnostic[] = []
  if (node.type === 'object') {
    const seen = new Set<string>()
    for (const prop of node.children ?? []) {
      const key = prop.children?.[0]?.value
      if (typeof key !== 'string') continue
      if (key === '__proto__') out.push(at([...path, key], 'the key "__proto__" is not allowed'))
      else if (seen.has(key)) out.push(at([...path, key], `duplicate key "${key}": JSON keeps only the last one; remove the other`))
      seen.add(key)
      out.push(...keyProblems(prop.children?.[1], [...path, key], at))
    }
  } else if (node.type === 'array') {
    node.children?.forEach((child, i) => out.push(...keyProblems(child, [...path, i], at)))
  }
  return out
}

const idMismatch = (id: string, expected: string) =>
  `id "${id}" does not match the file name ${expected}.json (rename the file or change the id)`

type Loose = Record<string, unknown>
const objects = (v: unknown): [Loose, number][] =>
  Array.isArray(v) ? v.flatMap((x, i): [Loose, number][] => (x && typeof x === 'object' && !Array.isArray(x) ? [[x as Loose, i]] : [])) : []

function semanticProblems(raw: unknown, expectedId: string, at: (p: (string | number)[], m: string) => Diagnostic): Diagnostic[] {
  const out: Diagnostic[] = []
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out
  const spec = raw as Loose
  if (typeof spec.id === 'string' && spec.id !== expectedId) out.push(at(['id'], idMismatch(spec.id, expectedId)))
  const names = new Map<string, number>()
  const looks = new Map<string, [string, number]>()
  for (const [node, i] of objects(spec.custom_nodes)) {
    if (node.name !== undefined && typeof node.name !== 'string') continue
    const source = typeof node.registry === 'string' && node.repo === undefined ? { registry: node.registry } : typeof node.repo === 'string' && node.repo ? { repo: node.repo } : undefined
    if (!source) continue
    const name = nodeName({ name: node.name as string | undefined, ...source })
    if (!node.name && (!name || name.startsWith('.') || name === '..')) {
      out.push(at(['custom_nodes', i, 'repo'], `cannot derive a folder name from this URL; add a "name"`))
      continue
    }
    const first = names.get(name)
    const where = ['custom_nodes', i, node.name ? 'name' : 'repo' in source ? 'repo' : 'registry']
    const alike = looks.get(nameSkeleton(name))
    if (first !== undefined) out.push(at(where, `duplicate node name "${name}" (also custom_nodes[${first}]); set a distinct "name"`))
    else if (alike) out.push(at(where, `node name ${JSON.stringify(name)} looks like ${JSON.stringify(alike[0])} (custom_nodes[${alike[1]}]) but is spelled with other characters; use one spelling, or a name that looks different`))
    else { names.set(name, i); looks.set(nameSkeleton(name), [name, i]) }
  }
  out.push(...optionLikePythonValues(spec.python, at))
  const paths = new Map<string, number>()
  const models = objects(spec.models).filter(([m]) => typeof m.path === 'string') as [{ path: string }, number][]
  for (const [m, i] of models) {
    const first = paths.get(m.path)
    if (first !== undefined) out.push(at(['models', i, 'path'], `duplicate model path "${m.path}" (also models[${first}])`))
    else paths.set(m.path, i)
  }
  for (const [m, i] of models) {
    for (const other of paths.keys()) {
      if (m.path.startsWith(`${other}/`)) out.push(at(['models', i, 'path'], `path "${m.path}" is inside another model's path "${other}"`))
    }
  }
  return out
}

/**
 * A requirement or find-links entry that starts with "-" would be read by pip or uv as an option of theirs
 * (`-r /etc/hostname`, `-e .`, `--index-url …`): the spec has its own keys for what those options do.
 */
function optionLikePythonValues(python: unknown, at: (p: (string | number)[], m: string) => Diagnostic): Diagnostic[] {
  if (!python || typeof python !== 'object' || Array.isArray(python)) return []
  const out: Diagnostic[] = []
  for (const key of ['requirements', 'constraints', 'find_links'] as const) {
    const list = (python as Loose)[key]
    if (!Array.isArray(list)) continue
    list.forEach((v, i) => {
      if (typeof v === 'string' && v.trim().startsWith('-')) {
        out.push(at(['python', key, i], `${JSON.stringify(v)} looks like an installer option, not ${key === 'find_links' ? 'a folder or URL' : 'a requirement'}; options are not passed on (use python.index_url, extra_index_urls or find_links for what they do)`))
      }
    })
  }
  return out
}

function issueToDiagnostics(issue: z.core.$ZodIssue, at: (p: (string | number)[], m: string) => Diagnostic, prefix: (string | number)[] = []): Diagnostic[] {
  const path = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')]
  if (issue.code === 'invalid_union') return nodeKindProblems(issue, path, at)
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map(k => at([...path, k], `unknown key "${k}"${suggestKeys(path, issue.input)}`))
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [at(path, `is required (${describeExpected(issue.expected)})`)]
  }
  if (issue.code === 'invalid_value' && issue.input === undefined) {
    return [at(path, `is required (${issue.values.map(v => JSON.stringify(v)).join(' or ')})`)]
  }
  if (issue.code === 'invalid_type') {
    return [at(path, `expected ${describeExpected(issue.expected)}, got ${describeValue(issue.input)}`)]
  }
  return [at(path, issue.message)]
}

const describeExpected = (e: string) => (e === 'object' ? 'an object' : e === 'array' ? 'a list' : e === 'string' ? 'a string' : e === 'number' ? 'a number' : e === 'boolean' ? 'true or false' : e === 'int' ? 'a whole number' : e)
const describeValue = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${redact(JSON.stringify(v))}`)

/**
 * A custom node is a git node or a registry node (a union): the problems are those of the kind its keys say it is,
 * and a node with both keys or neither is told so.
 */
function nodeKindProblems(issue: z.core.$ZodIssueInvalidUnion, path: (string | number)[], at: (p: (string | number)[], m: string) => Diagnostic): Diagnostic[] {
  const input = issue.input as Loose | undefined
  if (!input || typeof input !== 'object' || Array.isArray(input)) return [at(path, `expected an object, got ${describeValue(input)}`)]
  if ('repo' in input && 'registry' in input) return [at(path, 'has both "repo" (a git node) and "registry" (a Comfy Registry node); a node is one of the two: keep one')]
  const registry = 'registry' in input
  // Neither key: the git shape's problems ("repo" is required, an unknown "url"), which is what most such nodes meant.
  const branch = issue.errors[registry ? 1 : 0] ?? []
  return branch.flatMap(inner => inner.code === 'invalid_type' && inner.input === undefined && inner.path.join('.') === 'repo'
    ? [at([...path, 'repo'], 'is required (a git repository URL), or give "registry" (a Comfy Registry id) instead')]
    : issueToDiagnostics(inner, at, path))
}

const KNOWN_KEYS: Record<string, string[]> = {
  '': ['$schema', 'schema_version', 'id', 'description', 'comfyui', 'custom_nodes', 'models', 'python', 'launch'],
  comfyui: ['repo', 'ref', 'commit'],
  custom_nodes: ['name', 'repo', 'ref', 'commit', 'enabled', 'install_script'],
  registry_nodes: ['name', 'registry', 'version', 'sha256', 'enabled', 'install_script'],
  models: ['path', 'url', 'sha256', 'size'],
  python: ['version', 'requirements', 'constraints', 'overrides', 'blacklist', 'downgrade_blacklist', 'index_url', 'extra_index_urls', 'find_links', 'torch_backend', 'exclude_newer', 'on_conflict'],
  launch: ['port', 'listen', 'args', 'env', 'startup_timeout_s'],
}
function suggestKeys(path: (string | number)[], input: unknown): string {
  const registry = path[0] === 'custom_nodes' && !!input && typeof input === 'object' && 'registry' in input
  const known = KNOWN_KEYS[registry ? 'registry_nodes' : typeof path[0] === 'string' ? path[0] : '']
  return known ? ` (allowed: ${known.join(', ')})` : ''
}

function jsonSyntaxErrors(text: string, shown: string): Diagnostic[] {
  if (!text.trim()) return [{ file: shown, path: '(root)', message: 'the file is empty (a spec is a JSON object)' }]
  const errors: ParseError[] = []
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false })
  // One message per line: the parser often reports a second, derived error at the same place.
  const seen = new Set<number>()
  return errors.flatMap(e => {
    const { offset, message } = explainParseError(text, e)
    const { line, column } = lineColumn(text, offset)
    if (seen.has(line)) return []
    seen.add(line)
    return [{ file: shown, path: '(root)', message: `invalid JSON: ${message}`, line, column }]
  })
}

/** jsonc-parser's codes in words, with the usual hand-editing slips named and located where they are. */
function explainParseError(text: string, e: ParseError): { offset: number; message: string } {
  const code = printParseErrorCode(e.error)
  if (code === 'PropertyNameExpected' || code === 'ValueExpected') {
    let before = e.offset - 1
    while (before >= 0 && /\s/.test(text[before] ?? '')) before--
    if (text[before] === ',') return { offset: before, message: 'trailing comma (remove this ",")' }
  }
  if (code === 'InvalidCommentToken') return { offset: e.offset, message: 'comments are not allowed (a spec is plain JSON)' }
  if (code === 'InvalidSymbol' && text[e.offset] === "'") return { offset: e.offset, message: 'use double quotes for strings and keys' }
  return { offset: e.offset, message: code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() }
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1, lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1 }
  return { line, column: offset - lineStart + 1 }
}

function locate(text: string, tree: Node | undefined, path: (string | number)[]): { line?: number } {
  if (!tree) return {}
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(tree, path.slice(0, n))
    if (node) {
      const offset = node.parent?.type === 'property' ? node.parent.offset : node.offset
      return { line: lineColumn(text, offset).line }
    }
  }
  return {}
}
