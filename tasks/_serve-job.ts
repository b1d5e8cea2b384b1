import { formatJobProgress, parseRunpodInput, runJob } from '../lib/comfy/job.ts'
import type { KeptComfy } from '../lib/comfy/kept-server.ts'
import { s3Store, type BucketSettings } from '../lib/comfy/s3-store.ts'
import type { HandlerResult, RunpodJob } from '../lib/runpod/job-payload.ts'
import { redactSecrets } from '../lib/util/redact.ts'

export interface ServeJobSettings {
  comfy: KeptComfy
  /** `--timeout`: seconds a prompt may run when its input names no `timeout`. */
  defaultTimeoutS?: number
  bucket?: BucketSettings
  /** COMFY_ORG_API_KEY, used when a job brings no `comfy_org_api_key`. */
  apiKey?: string
  secrets: string[]
}

/** Progress updates go to RunPod at most this often per job. */
const PROGRESS_EVERY_MS = 1_000

/** Runs one RunPod job as run-handler does, on the warm ComfyUI: worker-comfyui's result, or `{error, details}`. */
export async function runServeJob(s: ServeJobSettings, job: RunpodJob, o: { signal?: AbortSignal; progress?: (output: unknown) => void } = {}): Promise<HandlerResult> {
  const input = parseRunpodInput(job.input)
  if (!input.ok) return { error: `job ${job.id}: ${input.error.message}`, details: [] }
  const server = await s.comfy.server()
  if (!server.ok) return { error: 'ComfyUI did not start', details: redactSecrets(server.error.message, s.secrets).split('\n') }
  const timeoutS = input.value.timeoutS ?? s.defaultTimeoutS
  const apiKey = input.value.apiKey ?? s.apiKey
  let last = 0
  const outcome = await runJob({
    url: server.value.url, workflow: input.value.workflow, images: input.value.images,
    ...(timeoutS ? { timeoutMs: timeoutS * 1000 } : {}), ...(o.signal ? { signal: o.signal } : {}),
    ...(apiKey ? { apiKey } : {}), ...(s.bucket ? { store: s3Store(s.bucket, job.id) } : {}),
    logTail: () => server.value.logTail().map(l => redactSecrets(l, [...s.secrets, ...(apiKey ? [apiKey] : [])])),
    onProgress: p => {
      const now = Date.now()
      if (now - last < PROGRESS_EVERY_MS && p.value !== p.max) return
      last = now
      o.progress?.(formatJobProgress(p))
    },
  })
  return { ...outcome.result }
}
