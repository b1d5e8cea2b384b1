import { err, ok, type Result } from '../result.ts'

/** An API-format workflow: node id → `{class_type, inputs, _meta?}`. */
export type ApiWorkflow = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: { title?: string } }>

/** An image to upload to ComfyUI's input folder before the prompt is queued. */
export interface JobImage {
  name: string
  data: Buffer
}

export interface JobInput {
  workflow: ApiWorkflow
  images: JobImage[]
  /** `input.comfy_org_api_key`: the job's key for ComfyUI's API nodes (it overrides COMFY_ORG_API_KEY). */
  apiKey?: string
  /** `input.timeout`: seconds the prompt may run (serve's `--timeout` when absent). */
  timeoutS?: number
}

export type JobProblem =
  | { reason: 'invalid-json'; message: string }
  | { reason: 'ui-format'; message: string }
  | { reason: 'not-a-job'; message: string }
  | { reason: 'not-api-format'; message: string }
  | { reason: 'bad-image'; message: string }

export const UI_FORMAT_MESSAGE =
  'this is a UI-format workflow (it has top-level nodes and links); in ComfyUI enable Dev mode options and use ' +
  'Save (API Format), or Workflow > Export (API)'

/**
 * Reads a `--workflow` file (an API-format workflow) or a `--job` file (RunPod's
 * `{"input": {"workflow", "images": [{"name", "image"}]}}`, images as base64 or data URLs).
 */
export function parseJobInput(content: string, kind: 'workflow' | 'job'): Result<JobInput, JobProblem> {
  let parsed: unknown
  try {
    parsed = JSON.parse(content)
  } catch (e) {
    return err({ reason: 'invalid-json', message: `not valid JSON: ${(e as Error).message}` })
  }
  if (!isObject(parsed)) return err({ reason: 'invalid-json', message: `expected a JSON object, found ${describe(parsed)}` })

  if (kind === 'workflow') {
    if (isObject(parsed.input) && 'workflow' in parsed.input) {
      return err({ reason: 'not-a-job', message: 'this is a RunPod job file ({"input": {"workflow": ...}}); pass it with --job' })
    }
    const workflow = checkWorkflow(parsed, 'the workflow')
    return workflow.ok ? ok({ workflow: workflow.value, images: [] }) : workflow
  }

  if (!('input' in parsed)) {
    const hint = isUiFormat(parsed) || looksLikeApiWorkflow(parsed) ? '; for a bare workflow use --workflow' : ''
    return err({ reason: 'not-a-job', message: `a job file has the form {"input": {"workflow": {...}, "images": [...]}}; "input" is missing${hint}` })
  }
  return parseRunpodInput(parsed.input)
}

/**
 * A RunPod job's `input`: `{"workflow", "images"?, "comfy_org_api_key"?, "timeout"?}`, as an object or as a JSON
 * string holding one (worker-comfyui accepts both).
 */
export function parseRunpodInput(value: unknown): Result<JobInput, JobProblem> {
  let input = value
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input)
    } catch (e) {
      return err({ reason: 'invalid-json', message: `"input" is a string that is not valid JSON: ${(e as Error).message}` })
    }
  }
  if (!isObject(input)) return err({ reason: 'not-a-job', message: `"input" must be an object {"workflow": {...}, "images": [...]} (or a JSON string of one), found ${describe(input)}` })
  if (!('workflow' in input)) return err({ reason: 'not-a-job', message: 'the job has no input.workflow' })
  const workflow = checkWorkflow(input.workflow, 'input.workflow')
  if (!workflow.ok) return workflow
  const images = parseImages(input.images)
  if (!images.ok) return images
  const key = input.comfy_org_api_key
  if (key !== undefined && (typeof key !== 'string' || !key)) return err({ reason: 'not-a-job', message: 'input.comfy_org_api_key must be a non-empty string' })
  const timeout = input.timeout
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) return err({ reason: 'not-a-job', message: 'input.timeout must be a number of seconds above 0' })
  return ok({ workflow: workflow.value, images: images.value, ...(key ? { apiKey: key } : {}), ...(timeout ? { timeoutS: timeout } : {}) })
}

/** Whether an image name can be uploaded as it is: a plain file name, no path. */
export function checkImageName(name: string): string | undefined {
  if (!name) return 'an image name is empty'
  if (/[/\\\0]/.test(name) || name === '.' || name === '..') return `image name ${JSON.stringify(name)} must be a plain file name (no / or \\)`
  return undefined
}

/** Decodes a data URL (`data:image/png;base64,...`) or plain base64; undefined when it is neither. */
export function decodeImageData(text: string): Buffer | undefined {
  const match = /^data:[^,]*?(;base64)?,(.*)$/s.exec(text)
  let payload = text
  if (match) {
    if (!match[1]) return undefined // a data URL without ;base64 is not an image we can read
    payload = match[2] ?? ''
  }
  payload = payload.replace(/\s+/g, '')
  // Buffer.from skips characters it does not know, so check the alphabet (standard or URL-safe) first.
  if (!payload || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload) || payload.length % 4 === 1) return undefined
  return Buffer.from(payload, 'base64')
}

/** `--image NAME=PATH` → its parts. */
export function parseImageOption(option: string): Result<{ name: string; path: string }, string> {
  const eq = option.indexOf('=')
  if (eq <= 0 || eq === option.length - 1) return err(`--image takes NAME=PATH, got ${JSON.stringify(option)}`)
  const name = option.slice(0, eq)
  const problem = checkImageName(name)
  return problem ? err(problem) : ok({ name, path: option.slice(eq + 1) })
}

// --- internal ---

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`
}

function isUiFormat(v: Record<string, unknown>): boolean {
  return Array.isArray(v.nodes) && Array.isArray(v.links)
}

function looksLikeApiWorkflow(v: Record<string, unknown>): boolean {
  const values = Object.values(v)
  return values.length > 0 && values.every(n => isObject(n) && typeof n.class_type === 'string')
}

function checkWorkflow(v: unknown, what: string): Result<ApiWorkflow, JobProblem> {
  if (!isObject(v)) return err({ reason: 'not-api-format', message: `${what} must be a JSON object, found ${describe(v)}` })
  if (isUiFormat(v)) return err({ reason: 'ui-format', message: UI_FORMAT_MESSAGE })
  const ids = Object.keys(v)
  if (ids.length === 0) return err({ reason: 'not-api-format', message: `${what} has no nodes` })
  for (const id of ids) {
    const node = v[id]
    if (!isObject(node) || typeof node.class_type !== 'string') {
      return err({ reason: 'not-api-format', message: `${what}: node ${JSON.stringify(id)} has no class_type; an API-format workflow maps node ids to {"class_type", "inputs"} (in ComfyUI: Workflow > Export (API))` })
    }
    if (node.inputs !== undefined && !isObject(node.inputs)) {
      return err({ reason: 'not-api-format', message: `${what}: node ${JSON.stringify(id)} (${node.class_type}): inputs must be an object` })
    }
  }
  return ok(v as ApiWorkflow)
}

function parseImages(v: unknown): Result<JobImage[], JobProblem> {
  if (v === undefined || v === null) return ok([])
  if (!Array.isArray(v)) return err({ reason: 'bad-image', message: `input.images must be a list of {"name", "image"}, found ${describe(v)}` })
  const images: JobImage[] = []
  const seen = new Set<string>()
  for (const [i, entry] of v.entries()) {
    const where = `input.images[${i}]`
    if (!isObject(entry) || typeof entry.name !== 'string' || typeof entry.image !== 'string') {
      return err({ reason: 'bad-image', message: `${where} must be {"name": "x.png", "image": "<base64 or data URL>"}` })
    }
    const problem = checkImageName(entry.name)
    if (problem) return err({ reason: 'bad-image', message: `${where}: ${problem}` })
    if (seen.has(entry.name)) return err({ reason: 'bad-image', message: `${where}: the name ${JSON.stringify(entry.name)} is used twice` })
    seen.add(entry.name)
    const data = decodeImageData(entry.image)
    if (!data || data.length === 0) {
      return err({ reason: 'bad-image', message: `${where} (${entry.name}): "image" is neither base64 nor a base64 data URL` })
    }
    images.push({ name: entry.name, data })
  }
  return ok(images)
}
