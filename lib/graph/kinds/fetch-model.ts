import { TaskFailure, type Json, type TaskPlugin } from '../plugin.ts'
import { blobState } from '../../models/store.ts'
import { formatProgress, formatBytes } from '../../fetch/progress.ts'

/** What a fetch records: the blob it made sure of. */
export interface FetchedBlob { sha256: string; size: number; blob: string }

export function fetchedBlob(outputs: Json | undefined): FetchedBlob | undefined {
  if (!outputs || typeof outputs !== 'object' || Array.isArray(outputs)) return undefined
  const { sha256, size, blob } = outputs
  return typeof sha256 === 'string' && typeof size === 'number' && typeof blob === 'string' ? { sha256, size, blob } : undefined
}

/** One model file in the content-addressed store (shared by every home and version). */
export const fetchModel: TaskPlugin = {
  kind: 'fetch-model',
  resource: 'network',
  tasks: spec => spec.models.map(m => ({
    id: `fetch-model:${m.path}`, kind: 'fetch-model', deps: [],
    inputs: { url: m.url, sha256: m.sha256 ?? null },
  })),
  async outputsStand(_task, recorded, ctx) {
    const b = fetchedBlob(recorded)
    const state = b && await blobState(ctx.env.modelsDir, b.sha256)
    // Size and mtime: a blob written to since it was verified is no longer sealed, and is hashed again.
    return !!state && state.size === b.size && state.sealed
  },
  async run(task, ctx) {
    const path = task.id.slice('fetch-model:'.length)
    const model = ctx.spec.models.find(m => m.path === path)!
    // Imported on first run: the downloader (and undici) are not needed to see that a blob is in the store.
    const { ensureBlob } = await import('../../models/ensure-blob.ts')
    const r = await ensureBlob({
      modelsDir: ctx.env.modelsDir, url: model.url, sha256: model.sha256, size: model.size, name: model.path,
      offline: ctx.config.offline, rules: ctx.config.auth, env: ctx.processEnv, signal: ctx.signal,
      onProgress: p => ctx.progress(formatProgress(p)), onNote: ctx.log,
      timeouts: { headersMs: ctx.config.timeouts.downloadHeadersS * 1000, bodyMs: ctx.config.timeouts.downloadBodyS * 1000 },
    })
    if (!r.ok) throw new TaskFailure(r.error.message)
    const outputs: FetchedBlob = { sha256: r.value.sha256, size: r.value.size, blob: r.value.blob }
    const note = r.value.downloaded ? `fetched ${formatBytes(r.value.bytesFetched)}` : 'already in the store'
    return { outputs: { ...outputs }, note }
  },
}
