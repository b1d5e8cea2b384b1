import { defineKind, isRecord, TaskFailure, type Json, type SpecModel } from '../plugin.ts'
import { guardedPath } from '../../models/safe-path.ts'
import { blobState } from '../../models/store.ts'
import { formatProgress, formatBytes } from '../../fetch/progress.ts'
import { homeLayout } from '../../layout/home.ts'

/** What a fetch records: the blob it made sure of. */
export interface FetchedBlob { sha256: string; size: number; blob: string }

function parseBlob(recorded: Json): FetchedBlob | undefined {
  if (!isRecord(recorded)) return undefined
  const { sha256, size, blob } = recorded
  return typeof sha256 === 'string' && typeof size === 'number' && typeof blob === 'string' ? { sha256, size, blob } : undefined
}

export const fetchModelId = (path: string): string => `fetch-model:${path}`

/** One model file in the content-addressed store (shared by every home and version). */
export const fetchModel = defineKind({
  kind: 'fetch-model',
  resource: 'network',
  tasks: spec => spec.models.map(m => ({
    id: fetchModelId(m.path), kind: 'fetch-model', deps: [],
    inputs: { url: m.url, sha256: m.sha256 ?? null },
    subject: m satisfies SpecModel,
  })),
  parseOutputs: parseBlob,
  async outputsStand(_task, b, ctx) {
    const state = await blobState(ctx.env.modelsDir, b.sha256)
    // Size and mtime: a blob written to since it was verified is no longer sealed, and is hashed again.
    return !!state && state.size === b.size && state.sealed
  },
  async run({ subject: model }, ctx) {
    // Imported on first run: the downloader (and undici) are not needed to see that a blob is in the store.
    const { ensureBlob } = await import('../../models/ensure-blob.ts')
    // A user's file at the model's path may be the pinned content already; only a path that stays inside models/.
    const inHome = await guardedPath(homeLayout(ctx.env.home).models, model.path, false)
    const r = await ensureBlob({
      modelsDir: ctx.env.modelsDir, url: model.url, sha256: model.sha256, size: model.size, name: model.path,
      offline: ctx.config.offline, rules: ctx.config.auth, env: ctx.processEnv, signal: ctx.signal,
      localCopy: inHome.ok ? { path: inHome.value, shown: `models/${model.path}` } : undefined,
      onProgress: p => ctx.progress(formatProgress(p)), onNote: ctx.log,
      timeouts: { headersMs: ctx.config.timeouts.downloadHeadersS * 1000, bodyMs: ctx.config.timeouts.downloadBodyS * 1000 },
    })
    if (!r.ok) throw new TaskFailure(r.error.message)
    const note = r.value.downloaded ? `fetched ${formatBytes(r.value.bytesFetched)}`
      : r.value.takenFrom ? `taken from ${r.value.takenFrom} (its sha256 is the pinned one); nothing downloaded` : 'already in the store'
    return { outputs: { sha256: r.value.sha256, size: r.value.size, blob: r.value.blob }, note }
  },
})
