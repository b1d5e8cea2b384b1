import { isAbsolute, join, relative, resolve } from 'node:path'
import { writeFileAtomic } from '../util/atomic.ts'
import { err, ok, type Result } from '../result.ts'
import { call, type ComfyEndpoint } from './comfy-http.ts'
import { byNodeId, type JobError } from './prompt-errors.ts'

/** A file ComfyUI lists in an output: fetched with `/view?filename&subfolder&type`. */
export interface OutputFileRef {
  filename: string
  subfolder: string
  type: string
  [extra: string]: unknown
}

/** worker-comfyui's `images` entry; in files mode the file was written to `path` instead. */
export type ResultImage =
  | { filename: string; type: 'base64'; data: string }
  | { filename: string; type: 'file'; path: string }

/**
 * Every output ComfyUI recorded, by node id and kind (images, gifs, videos, audio, text, ...), with temporary
 * previews left out. File items carry their content as base64 `data`, or in files mode the `path` written.
 */
export type JobOutputs = Record<string, Record<string, unknown>>

/** A finished job as run-handler prints it. */
export interface JobResult {
  images: ResultImage[]
  outputs: JobOutputs
}

export interface FetchOutputsOptions {
  output: 'base64' | 'files'
  /** Required in files mode: where files go, under their subfolder. */
  outDir?: string
  signal?: AbortSignal
}

/** Downloads every non-temporary file a history entry's outputs name and builds the job result. */
export async function fetchOutputs(ep: ComfyEndpoint, historyOutputs: unknown, opts: FetchOutputsOptions): Promise<Result<JobResult, JobError>> {
  if (opts.output === 'files' && !opts.outDir) return err({ error: 'files output needs an output directory (--out-dir)', details: [] })
  const outputs: JobOutputs = {}
  const images: ResultImage[] = []
  const fetched = new Map<string, { data: string } | { path: string }>()
  const byNode = isObject(historyOutputs) ? historyOutputs : {}
  for (const nodeId of Object.keys(byNode).sort(byNodeId)) {
    const kinds = byNode[nodeId]
    if (!isObject(kinds)) continue
    const kept: Record<string, unknown> = {}
    for (const [kind, value] of Object.entries(kinds)) {
      if (!Array.isArray(value)) { kept[kind] = value; continue }
      const items: unknown[] = []
      let skipped = 0
      for (const item of value) {
        if (!isFileRef(item)) { items.push(item); continue }
        if (item.type === 'temp') { skipped++; continue }
        const key = JSON.stringify([item.type, item.subfolder, item.filename])
        let stored = fetched.get(key)
        if (!stored) {
          const got = await fetchFile(ep, item, opts)
          if (!got.ok) return got
          stored = got.value
          fetched.set(key, stored)
        }
        items.push({ ...item, ...stored })
        if (kind === 'images') {
          images.push('data' in stored
            ? { filename: item.filename, type: 'base64', data: stored.data }
            : { filename: item.filename, type: 'file', path: stored.path })
        }
      }
      if (items.length > 0 || skipped === 0) kept[kind] = items
    }
    if (Object.keys(kept).length > 0) outputs[nodeId] = kept
  }
  return ok({ images, outputs })
}

// --- internal ---

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isFileRef(v: unknown): v is OutputFileRef {
  return isObject(v) && typeof v.filename === 'string' && typeof (v.subfolder ?? '') === 'string'
    && typeof (v.type ?? 'output') === 'string'
}

async function fetchFile(ep: ComfyEndpoint, ref: OutputFileRef, opts: FetchOutputsOptions): Promise<Result<{ data: string } | { path: string }, JobError>> {
  const subfolder = ref.subfolder ?? ''
  const type = ref.type ?? 'output'
  const shown = subfolder ? `${subfolder}/${ref.filename}` : ref.filename
  const answer = await call(ep, 'view', { query: { filename: ref.filename, subfolder, type }, signal: opts.signal, timeoutMs: 600_000 })
  if (answer.status !== 200) return err({ error: `could not fetch the output ${shown} (${type}): HTTP ${answer.status}`, details: [] })
  if (opts.output === 'base64') return ok({ data: answer.body.toString('base64') })
  const outDir = resolve(opts.outDir ?? '.')
  const path = resolve(outDir, subfolder.replace(/^[/\\]+/, ''), ref.filename)
  const inside = relative(outDir, path)
  if (!inside || inside.startsWith('..') || isAbsolute(inside) || /[/\\]/.test(ref.filename)) {
    return err({ error: `refusing to write the output ${JSON.stringify(shown)} outside ${outDir}`, details: [] })
  }
  await writeFileAtomic(join(outDir, inside), answer.body)
  return ok({ path })
}
