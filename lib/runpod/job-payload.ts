/** A job as RunPod hands it out: `id` and `input` are required, anything else is kept. */
export interface RunpodJob {
  id: string
  input: unknown
  webhook?: string
  [extra: string]: unknown
}

/** What a handler returns: worker-comfyui's result, or `{error, details}`. */
export type HandlerResult = Record<string, unknown>

/** The body posted to job-done, as runpod-python builds it (reference/runpod-worker.md §6). */
export type JobDonePayload = { output?: unknown; error?: string }

/**
 * runpod-python's rule: `error` is lifted to the top level, the rest of the dict is `output` (dropped when empty).
 * `{"error": "x", "details": [...]}` → `{"output": {"details": [...]}, "error": "x"}`.
 */
export function jobDonePayload(result: HandlerResult): JobDonePayload {
  const { error, ...rest } = result
  const payload: JobDonePayload = {}
  if (Object.keys(rest).length > 0) payload.output = rest
  if (error) payload.error = typeof error === 'string' ? error : JSON.stringify(error)
  return payload
}

/** A job object from a take answer: an object with a string `id` and an `input`; a reason otherwise. */
export function checkJob(value: unknown): RunpodJob | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a job must be a JSON object'
  const job = value as Record<string, unknown>
  if (typeof job.id !== 'string' || !job.id) return 'a job has no "id"'
  if (!('input' in job)) return `job ${job.id} has no "input"`
  return job as RunpodJob
}
