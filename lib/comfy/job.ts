import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { call, comfyEndpoint, isAlive, jsonOf, textOf, Unreachable, uploadImage, websocketUrl, type ComfyEndpoint } from './comfy-http.ts'
import type { ApiWorkflow, JobImage } from './job-input.ts'
import { fetchOutputs, type JobResult, type StoreFile } from './outputs.ts'
import { renderExecutionError, renderPromptRefusal, type JobError } from './prompt-errors.ts'
import { openPromptSocket, type PromptSocket } from './prompt-socket.ts'
import type { JobProgress } from './progress.ts'

export { parseJobInput, parseRunpodInput, parseImageOption, decodeImageData, checkImageName, UI_FORMAT_MESSAGE } from './job-input.ts'
export type { ApiWorkflow, JobImage, JobInput, JobProblem } from './job-input.ts'
export type { JobResult, JobOutputs, ResultImage, StoreFile } from './outputs.ts'
export type { JobError } from './prompt-errors.ts'
export { formatJobProgress, type JobProgress } from './progress.ts'

export interface RunJobOptions {
  /** ComfyUI's base URL; `user:pass@` is sent as basic auth and never shown. */
  url: string
  workflow: ApiWorkflow
  /** Uploaded to `/upload/image` (input folder, overwriting) before the prompt is queued. */
  images?: JobImage[]
  /** Limit on the prompt's run, from queueing to done; on expiry the prompt is interrupted. */
  timeoutMs?: number
  /** Aborting interrupts the prompt and ends the job with an error. */
  signal?: AbortSignal
  /** Sampler steps and the like, as ComfyUI reports them (websocket only; the CLI throttles). */
  onProgress?: (p: JobProgress) => void
  /** `base64` (default): file contents in the result; `files`: written under `outDir`. */
  output?: 'base64' | 'files'
  outDir?: string
  /** How often `/history` is polled when the websocket is unavailable; default 500 ms. */
  pollIntervalMs?: number
  /** Sent as `extra_data.api_key_comfy_org`, which ComfyUI's API and partner nodes read. */
  apiKey?: string
  /** Where files go instead of into the result as base64 (S3); they come back as `s3_url`. */
  store?: StoreFile
  /** The last lines of ComfyUI's log, added to the details of a job that failed (when the tool started ComfyUI). */
  logTail?: () => string[]
}

/** The result run-handler prints: `{images, outputs}`, or `{error, details}` (exit code 1). */
export type JobOutcome = { ok: true; result: JobResult } | { ok: false; result: JobError }

/**
 * Runs one RunPod-style job against a running ComfyUI: uploads the images, opens the websocket with a fresh
 * client id, queues the workflow, follows it to `executing {node: null}` for its prompt id (or polls `/history`
 * when the websocket fails), then collects every output kind from the history entry.
 */
export async function runJob(opts: RunJobOptions): Promise<JobOutcome> {
  const endpoint = comfyEndpoint(opts.url)
  if (!endpoint.ok) return fail(endpoint.error)
  const ep = endpoint.value
  if (opts.output === 'files' && !opts.outDir) return fail('files output needs an output directory (--out-dir)')
  let socket: PromptSocket | undefined
  try {
    for (const image of opts.images ?? []) {
      const answer = await uploadImage(ep, image.name, image.data, opts.signal)
      if (answer.status !== 200) return fail(`uploading the image ${image.name} failed: HTTP ${answer.status} ${textOf(answer)}`.trim())
    }
    const clientId = randomUUID()
    const opened = await openPromptSocket(websocketUrl(ep, clientId), ep.headers)
    if (opened.ok) socket = opened.value

    const extraData = opts.apiKey ? { extra_data: { api_key_comfy_org: opts.apiKey } } : {}
    const queued = await call(ep, 'prompt', { json: { prompt: opts.workflow, client_id: clientId, prompt_id: randomUUID(), ...extraData }, signal: opts.signal })
    const body = jsonOf(queued)
    if (queued.status === 400) return { ok: false, result: renderPromptRefusal(body, opts.workflow) }
    const promptId = isObject(body) && typeof body.prompt_id === 'string' ? body.prompt_id : undefined
    if (queued.status !== 200 || !promptId) return fail(`ComfyUI answered HTTP ${queued.status} to POST /prompt: ${textOf(queued)}`)
    // Some outputs refused, the others queued (ComfyUI answers 200 with node_errors): the outputs that validated
    // run, and the refusals are reported beside their results, as worker-comfyui does.
    const refused = isObject(body) && isObject(body.node_errors) && Object.keys(body.node_errors).length > 0
      ? renderPromptRefusal({ ...body, error: { message: 'Prompt outputs failed validation' } }, opts.workflow).details
      : []

    const outcome = await follow(ep, promptId, socket, opts, refused)
    // A workflow ComfyUI refused is explained by the refusals; its log adds nothing.
    return !outcome.ok && outcome.result.error === REFUSED ? outcome : withLog(outcome, opts)
  } catch (e) {
    if (opts.signal?.aborted) return fail('cancelled')
    if (e instanceof Unreachable) return withLog(fail(`cannot reach ComfyUI at ${ep.display} (${e.request}): ${e.reason}`), opts)
    return fail((e as Error).message)
  } finally {
    socket?.close()
  }
}

// --- internal ---

type Waited =
  | { kind: 'done' }
  | { kind: 'failed'; error: JobError }
  | { kind: 'died' }
  | { kind: 'stopped' }

const fail = (error: string, details: string[] = []): JobOutcome => ({ ok: false, result: { error, details } })

const REFUSED = 'ComfyUI refused the workflow: Prompt outputs failed validation'

/** A failed job's details end with the last lines of ComfyUI's log, when there is one to read. */
function withLog(outcome: JobOutcome, opts: RunJobOptions): JobOutcome {
  const tail = outcome.ok ? [] : opts.logTail?.() ?? []
  if (outcome.ok || tail.length === 0) return outcome
  return { ok: false, result: { ...outcome.result, details: [...outcome.result.details, "ComfyUI's log (last lines):", ...tail.map(l => `  ${l}`)] } }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Waits for the prompt to end (or the timeout / abort), then turns its history entry into the outcome. A node that
 * failed does not lose what the nodes before it saved: the files are returned with the failure in `errors`.
 */
async function follow(ep: ComfyEndpoint, promptId: string, socket: PromptSocket | undefined, opts: RunJobOptions, refused: string[]): Promise<JobOutcome> {
  const stop = new AbortController()
  let why: 'timeout' | 'cancel' | undefined
  const timer = opts.timeoutMs !== undefined ? setTimeout(() => { why ??= 'timeout'; stop.abort() }, opts.timeoutMs) : undefined
  const onAbort = () => { why ??= 'cancel'; stop.abort() }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted) onAbort()
  const seen: Seen = { node: undefined, blocked: [] }
  let waited: Waited | { kind: 'lost' }
  try {
    waited = socket ? await watchSocket(socket, promptId, stop.signal, seen, opts) : { kind: 'lost' }
    if (waited.kind === 'lost') waited = await pollHistory(ep, promptId, stop.signal, opts.pollIntervalMs ?? 500)
  } finally {
    if (timer) clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  }

  const at = seen.node !== undefined ? [`while running node ${seen.node} (${opts.workflow[seen.node]?.class_type ?? '?'})`] : []
  switch (waited.kind) {
    case 'died':
      return fail('ComfyUI exited during the job', at)
    case 'stopped': {
      const confirmed = await interrupt(ep, promptId)
      const what = why === 'timeout' ? `timed out after ${(opts.timeoutMs ?? 0) / 1000} s` : 'cancelled'
      return fail(confirmed ? `${what}; the prompt was interrupted` : `${what}; asked ComfyUI to interrupt the prompt (not confirmed within 5 s)`, at)
    }
    case 'failed':
    case 'done':
      break
  }

  const entry = await historyEntry(ep, promptId, opts.signal)
  const failure = waited.kind === 'failed' ? waited.error : entry ? failureIn(entry, opts.workflow) : undefined
  if (!entry) return { ok: false, result: failure ?? { error: `ComfyUI reported the prompt ${promptId} done but has no history entry for it`, details: [] } }
  const collected = await fetchOutputs(ep, entry.outputs, { output: opts.output ?? 'base64', outDir: opts.outDir, store: opts.store, signal: opts.signal })
  const errors = [...refused, ...seen.blocked, ...(failure ? [failure.error] : []), ...collected.errors]
  if (collected.images.length === 0 && errors.length > 0) {
    if (failure) return { ok: false, result: { error: failure.error, details: [...failure.details, ...errors.filter(e => e !== failure.error)] } }
    const error = refused.length > 0 ? REFUSED : 'the job produced no output file'
    return { ok: false, result: { error, details: errors } }
  }
  const result: JobResult = { images: collected.images, outputs: collected.outputs }
  if (errors.length > 0) result.errors = errors
  if (collected.images.length === 0) result.status = 'success_no_images'
  return { ok: true, result }
}

/** What the websocket told along the way: the node running, and the nodes ComfyUI blocked while it carried on. */
interface Seen { node: string | undefined; blocked: string[] }

/** Follows websocket messages for the prompt; `lost` when the connection drops while ComfyUI still answers. */
async function watchSocket(socket: PromptSocket, promptId: string, signal: AbortSignal, where: Seen,
  opts: RunJobOptions): Promise<Waited | { kind: 'lost' }> {
  let failed: JobError | undefined
  const ours = (data: Record<string, unknown>) => data.prompt_id === undefined || data.prompt_id === promptId
  for (;;) {
    const event = await socket.next(signal)
    if (!event) return { kind: 'stopped' }
    const data = event.data as Record<string, unknown>
    switch (event.type) {
      case '#closed':
        return { kind: 'lost' }
      case 'executing':
        if (data.node === null || data.node === undefined) {
          if (data.prompt_id === promptId) return failed ? { kind: 'failed', error: failed } : { kind: 'done' }
        } else if (ours(data)) {
          where.node = String(data.node)
        }
        break
      case 'progress':
        if (ours(data) && typeof data.value === 'number' && typeof data.max === 'number') {
          const nodeId = String(data.node ?? where.node ?? '')
          const node = opts.workflow[nodeId]
          opts.onProgress?.({ nodeId, node: node?._meta?.title || node?.class_type || `node ${nodeId}`, value: data.value, max: data.max })
        }
        break
      case 'execution_error':
        // An ExecutionBlocker with a message: ComfyUI reports it and runs the rest of the prompt. Any other error ends
        // the prompt; its history entry (written before the done signal) still holds what earlier nodes saved.
        if (data.prompt_id !== promptId) break
        if (data.exception_type === 'ExecutionBlocked' || String(data.exception_type).endsWith('.ExecutionBlocked')) {
          const nodeId = String(data.node_id ?? '?')
          const type = typeof data.node_type === 'string' ? data.node_type : opts.workflow[nodeId]?.class_type ?? '?'
          where.blocked.push(`node ${nodeId} (${type}) was blocked: ${String(data.exception_message ?? '').replace(/^Execution Blocked: /, '')}`)
        } else {
          failed ??= renderExecutionError(data, opts.workflow)
        }
        break
      case 'execution_interrupted':
        if (data.prompt_id === promptId) return { kind: 'failed', error: interruptedError(data, opts.workflow) }
        break
    }
  }
}

/** The fallback without a websocket: the prompt is done once `/history/{id}` has its entry. */
async function pollHistory(ep: ComfyEndpoint, promptId: string, signal: AbortSignal, intervalMs: number): Promise<Waited> {
  for (;;) {
    if (signal.aborted) return { kind: 'stopped' }
    try {
      // The queue first: a prompt that leaves it is in the history by then.
      const queue = await call(ep, 'queue', { signal, timeoutMs: 10_000 })
      const answer = await call(ep, `history/${encodeURIComponent(promptId)}`, { signal, timeoutMs: 10_000 })
      const body = jsonOf(answer)
      if (answer.status === 200 && isObject(body) && isObject(body[promptId])) return { kind: 'done' }
      if (queue.status === 200 && !inQueue(jsonOf(queue), promptId)) {
        return { kind: 'failed', error: { error: 'ComfyUI lost the prompt: it is neither queued nor in its history (was ComfyUI restarted?)', details: [] } }
      }
    } catch (e) {
      if (signal.aborted) return { kind: 'stopped' }
      if (!(e instanceof Unreachable)) throw e
      if (!(await isAlive(ep))) return { kind: 'died' }
    }
    try {
      await sleep(intervalMs, undefined, { signal })
    } catch {
      return { kind: 'stopped' }
    }
  }
}

async function historyEntry(ep: ComfyEndpoint, promptId: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  const answer = await call(ep, `history/${encodeURIComponent(promptId)}`, { signal })
  const body = jsonOf(answer)
  const entry = isObject(body) ? body[promptId] : undefined
  return isObject(entry) ? entry : undefined
}

/** The error recorded in a history entry's status messages (what the websocket would have said). */
function failureIn(entry: Record<string, unknown>, workflow: ApiWorkflow): JobError | undefined {
  const status = isObject(entry.status) ? entry.status : {}
  const messages = Array.isArray(status.messages) ? status.messages : []
  for (const m of messages) {
    if (!Array.isArray(m) || !isObject(m[1])) continue
    if (m[0] === 'execution_error') return renderExecutionError(m[1], workflow)
    if (m[0] === 'execution_interrupted') return interruptedError(m[1], workflow)
  }
  if (status.status_str === 'error') return { error: 'ComfyUI reports that the prompt failed', details: [] }
  return undefined
}

function interruptedError(data: Record<string, unknown>, workflow: ApiWorkflow): JobError {
  const node = typeof data.node_id === 'string' ? data.node_id : undefined
  const type = typeof data.node_type === 'string' ? data.node_type : node !== undefined ? workflow[node]?.class_type : undefined
  return {
    error: 'the prompt was interrupted in ComfyUI (Cancel in the UI, or POST /interrupt)',
    details: node !== undefined ? [`at node ${node} (${type ?? '?'})`] : [],
  }
}

/** Interrupts the prompt if it runs and drops it if it waits; true once its history entry confirms the end. */
async function interrupt(ep: ComfyEndpoint, promptId: string): Promise<boolean> {
  try {
    await call(ep, 'interrupt', { json: { prompt_id: promptId }, timeoutMs: 5_000 })
    await call(ep, 'queue', { json: { delete: [promptId] }, timeoutMs: 5_000 })
  } catch {
    return false
  }
  const deadline = Date.now() + 5_000
  while (Date.now() < deadline) {
    try {
      const answer = await call(ep, `history/${encodeURIComponent(promptId)}`, { timeoutMs: 2_000 })
      const body = jsonOf(answer)
      if (isObject(body) && isObject(body[promptId])) return true
      if (!inQueue(jsonOf(await call(ep, 'queue', { timeoutMs: 2_000 })), promptId)) return true
    } catch {
      return false
    }
    await sleep(100)
  }
  return false
}

/** Whether `GET /queue`'s answer lists the prompt as running or pending (items are [number, prompt_id, ...]). */
function inQueue(queue: unknown, promptId: string): boolean {
  if (!isObject(queue)) return true // an answer we cannot read proves nothing
  const items = [queue.queue_running, queue.queue_pending].flatMap(list => (Array.isArray(list) ? list : []))
  return items.some(item => Array.isArray(item) && item[1] === promptId)
}
