import { extname, isAbsolute, join, relative, resolve } from 'node:path'
import { writeFileAtomic } from '../util/atomic.ts'
import { call, Unreachable, type ComfyEndpoint } from './comfy-http.ts'
import { byNodeId } from './prompt-errors.ts'

/** A file ComfyUI lists in an output: fetched with `/view?filename&subfolder&type`. */
export interface OutputFileRef {
  filename: string
  subfolder: string
  type: string
  [extra: string]: unknown
}

/**
 * worker-comfyui's `images` entry, one per output file of any kind: its bytes as base64, the URL it was uploaded
 * to (S3), or in files mode the `path` it was written to.
 */
export type ResultImage =
  | { filename: string; type: 'base64'; data: string }
  | { filename: string; type: 's3_url'; data: string }
  | { filename: string; type: 'file'; path: string }

/**
 * Every output ComfyUI recorded, by node id and kind (images, gifs, videos, audio, text, ...), with temporary
 * previews left out. File items are ComfyUI's references (`filename`, `subfolder`, `type`); their bytes are in
 * `images` only, so a result carries each file once (RunPod's payload limits count every byte).
 */
export type JobOutputs = Record<string, Record<string, unknown>>

/** A finished job as run-handler prints it and serve posts it: worker-comfyui's shape. */
export interface JobResult {
  images: ResultImage[]
  outputs: JobOutputs
  /** Problems that did not stop the job: outputs that failed validation or failed to run, files not fetched. */
  errors?: string[]
  /** The prompt ran and wrote no file (text outputs only, say), as worker-comfyui reports it. */
  status?: 'success_no_images'
}

/** Where a file goes instead of into the result as base64: an S3 bucket, say. Returns the URL to hand out. */
export type StoreFile = (file: { filename: string; bytes: Buffer }) => Promise<string>

export interface FetchOutputsOptions {
  output: 'base64' | 'files'
  /** Required in files mode: where files go, under their subfolder. */
  outDir?: string
  /** When set (and output is base64), each file is handed to it and returned as `s3_url`. */
  store?: StoreFile
  signal?: AbortSignal
}

/** What came of a history entry's outputs: the files that could be fetched, and why the others could not. */
export interface CollectedOutputs {
  images: ResultImage[]
  outputs: JobOutputs
  /** One line per file that could not be fetched, stored or written. */
  errors: string[]
}

/**
 * Downloads every non-temporary file a history entry's outputs name. A file that cannot be fetched is reported in
 * `errors` and the others are still returned (worker-comfyui keeps what it could get).
 */
export async function fetchOutputs(ep: ComfyEndpoint, historyOutputs: unknown, opts: FetchOutputsOptions): Promise<CollectedOutputs> {
  const outputs: JobOutputs = {}
  const images: ResultImage[] = []
  const errors: string[] = []
  const fetched = new Map<string, ResultImage | undefined>()
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
        if (!fetched.has(key)) {
          const got = await fetchFile(ep, item, opts)
          if ('problem' in got) errors.push(got.problem)
          else images.push(got.image)
          fetched.set(key, 'image' in got ? got.image : undefined)
        }
        const stored = fetched.get(key)
        items.push(stored?.type === 'file' ? { ...item, path: stored.path } : item)
      }
      if (items.length > 0 || skipped === 0) kept[kind] = items
    }
    if (Object.keys(kept).length > 0) outputs[nodeId] = kept
  }
  return { images, outputs, errors }
}

// --- internal ---

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isFileRef(v: unknown): v is OutputFileRef {
  return isObject(v) && typeof v.filename === 'string' && typeof (v.subfolder ?? '') === 'string'
    && typeof (v.type ?? 'output') === 'string'
}

async function fetchFile(ep: ComfyEndpoint, ref: OutputFileRef, opts: FetchOutputsOptions): Promise<{ image: ResultImage } | { problem: string }> {
  const subfolder = ref.subfolder ?? ''
  const type = ref.type ?? 'output'
  const shown = subfolder ? `${subfolder}/${ref.filename}` : ref.filename
  let answer
  try {
    answer = await call(ep, 'view', { query: { filename: ref.filename, subfolder, type }, signal: opts.signal, timeoutMs: 600_000 })
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e
    return { problem: `could not fetch the output ${shown} (${type}): ${e.reason}` }
  }
  if (answer.status !== 200) return { problem: `could not fetch the output ${shown} (${type}): HTTP ${answer.status}` }
  if (opts.output === 'base64') {
    if (!opts.store) return { image: { filename: ref.filename, type: 'base64', data: answer.body.toString('base64') } }
    try {
      return { image: { filename: ref.filename, type: 's3_url', data: await opts.store({ filename: ref.filename, bytes: answer.body }) } }
    } catch (e) {
      return { problem: `could not upload the output ${shown}: ${(e as Error).message}` }
    }
  }
  const outDir = resolve(opts.outDir ?? '.')
  const path = resolve(outDir, subfolder.replace(/^[/\\]+/, ''), ref.filename)
  const inside = relative(outDir, path)
  if (!inside || inside.startsWith('..') || isAbsolute(inside) || /[/\\]/.test(ref.filename)) {
    return { problem: `refusing to write the output ${JSON.stringify(shown)} outside ${outDir}` }
  }
  await writeFileAtomic(join(outDir, inside), answer.body)
  return { image: { filename: ref.filename, type: 'file', path } }
}

/** The extension worker-comfyui gives an uploaded file (`.png` when the name has none). */
export const uploadExtension = (filename: string): string => extname(filename) || '.png'
