import { cacheLayout } from '../layout/cache.ts'
import type { Spec } from '../spec/schema.ts'
import { nodeName } from '../spec/names.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { redactJson } from '../util/redact.ts'

/** The resolved lock `validate` writes: what every ref and model resolved to, and when. */
export interface ResolvedLock {
  version: string
  resolved_at: string
  comfyui: { repo: string; ref: string | null; commit: string | null }
  custom_nodes: { name: string; repo: string; ref: string | null; commit: string | null }[]
  models: { path: string; url: string; sha256: string | null; size: number | null }[]
}

export const resolvedLockPath = (cacheRoot: string, id: string): string => cacheLayout(cacheRoot).resolvedLock(id)

export async function writeResolvedLock(cacheRoot: string, spec: Spec): Promise<string> {
  const lock: ResolvedLock = {
    version: spec.id,
    resolved_at: new Date().toISOString(),
    comfyui: { repo: spec.comfyui.repo, ref: spec.comfyui.ref ?? null, commit: spec.comfyui.commit ?? null },
    custom_nodes: spec.custom_nodes.map(n => ({ name: nodeName(n), repo: n.repo, ref: n.ref ?? null, commit: n.commit ?? null })),
    models: spec.models.map(m => ({ path: m.path, url: m.url, sha256: m.sha256 ?? null, size: m.size ?? null })),
  }
  const path = resolvedLockPath(cacheRoot, spec.id)
  // URLs may carry credentials; a lock never does.
  await writeFileAtomic(path, `${JSON.stringify(redactJson(lock), null, 2)}\n`)
  return path
}
