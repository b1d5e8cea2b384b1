/** A failed job as run-handler reports it: `{"error": "...", "details": [...]}`. */
export interface JobError {
  error: string
  details: string[]
}

type Loose = Record<string, unknown>

const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v))

/**
 * Renders ComfyUI's 400 answer to `POST /prompt` readably, one line per problem:
 * `node 4 (CheckpointLoaderSimple): ckpt_name: Value not in list: 'x.safetensors' not in ['a.safetensors']`.
 */
export function renderPromptRefusal(body: unknown, workflow: Record<string, { class_type?: string }> = {}): JobError {
  const error = isObject(body) && isObject(body.error) ? body.error : isObject(body) && typeof body.error === 'string' ? { message: body.error } : {}
  const nodeErrors = isObject(body) && isObject(body.node_errors) ? body.node_errors : {}
  const details: string[] = []
  for (const id of Object.keys(nodeErrors).sort(byNodeId)) {
    const entry = nodeErrors[id]
    const classType = (isObject(entry) && str(entry.class_type)) || workflow[id]?.class_type || '?'
    const errors = isObject(entry) && Array.isArray(entry.errors) ? entry.errors : []
    for (const e of errors) details.push(`node ${id} (${classType}): ${renderNodeError(e)}`)
    if (errors.length === 0) details.push(`node ${id} (${classType}): invalid`)
  }
  const message = str(error.message) || 'the workflow is invalid'
  if (details.length === 0) {
    for (const line of str(error.details).split('\n')) if (line.trim()) details.push(line.trim())
  }
  return { error: `ComfyUI refused the workflow: ${message}`, details }
}

/** `execution_error` data → the job error: which node, what type, what it said. */
export function renderExecutionError(data: Loose, workflow: Record<string, { class_type?: string }> = {}): JobError {
  const nodeId = str(data.node_id)
  const nodeType = str(data.node_type) || workflow[nodeId]?.class_type || '?'
  const message = str(data.exception_message).trim() || 'no message'
  const details = [`node ${nodeId} (${nodeType})`, `${str(data.exception_type) || 'Exception'}: ${message}`]
  const traceback = Array.isArray(data.traceback) ? data.traceback.map(str).join('').split('\n') : []
  const tail = traceback.filter(l => l.trim()).slice(-12)
  if (tail.length) details.push('traceback (last lines):', ...tail)
  return { error: `node ${nodeId} (${nodeType}) failed: ${firstLine(message)}`, details }
}

export function byNodeId(a: string, b: string): number {
  const na = Number(a)
  const nb = Number(b)
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb
  return a < b ? -1 : a > b ? 1 : 0
}

// --- internal ---

function renderNodeError(e: unknown): string {
  if (!isObject(e)) return str(e)
  const extra = isObject(e.extra_info) ? e.extra_info : {}
  const input = str(extra.input_name)
  let details = str(e.details)
  // ComfyUI repeats the input name at the start of its details ("ckpt_name: 'x' not in [...]", "image - Invalid ...").
  if (input && (details.startsWith(`${input}: `) || details.startsWith(`${input} - `))) details = details.slice(input.length + 2).trimStart()
  else if (input && details === input) details = ''
  const message = str(e.message) || str(e.type) || 'invalid'
  return [input, message, details].filter(Boolean).join(': ')
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text
}
