import { cacheLayout } from '../layout/cache.ts'
import type { Spec } from '../spec/schema.ts'
import { isRegistryNode, nodeName } from '../spec/names.ts'
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../util/atomic.ts'
import { redactJson } from '../util/redact.ts'

/** The resolved lock `validate` writes: what every ref and model resolved to, and when. */
export interface ResolvedLock {
  version: string
  resolved_at: string
  comfyui: { repo: string; ref: string | null; commit: string | null }
  custom_nodes: Array<{ name: string; repo: string; ref: string | null; commit: string | null }
    /** `follows: "latest"`: validate chose the version (the spec had none), so `validate --update` may move it. */
    | { name: string; registry: string; version: string | null; sha256: string | null; follows?: 'latest' }>
  models: { path: string; url: string; sha256: string | null; size: number | null }[]
}

export const resolvedLockPath = (cacheRoot: string, id: string): string => cacheLayout(cacheRoot).resolvedLock(id)

/** The registry nodes whose version validate chose (see ResolvedLock), by name, with the version it chose. */
export async function followingLatest(cacheRoot: string, id: string): Promise<Map<string, string>> {
  const lock = await readFile(resolvedLockPath(cacheRoot, id), 'utf8').then(t => JSON.parse(t) as ResolvedLock, () => undefined)
  return new Map((lock?.custom_nodes ?? []).flatMap(n => ('follows' in n && n.follows === 'latest' && n.version ? [[n.name, n.version] as const] : [])))
}

export async function writeResolvedLock(cacheRoot: string, spec: Spec, follows: ReadonlySet<string> = new Set()): Promise<string> {
  const lock: ResolvedLock = {
    version: spec.id,
    resolved_at: new Date().toISOString(),
    comfyui: { repo: spec.comfyui.repo, ref: spec.comfyui.ref ?? null, commit: spec.comfyui.commit ?? null },
    custom_nodes: spec.custom_nodes.map(n => (isRegistryNode(n)
      ? { name: nodeName(n), registry: n.registry, version: n.version ?? null, sha256: n.sha256 ?? null, ...(follows.has(nodeName(n)) ? { follows: 'latest' as const } : {}) }
      : { name: nodeName(n), repo: n.repo, ref: n.ref ?? null, commit: n.commit ?? null })),
    models: spec.models.map(m => ({ path: m.path, url: m.url, sha256: m.sha256 ?? null, size: m.size ?? null })),
  }
  const path = resolvedLockPath(cacheRoot, spec.id)
  // URLs may carry credentials; a lock never does.
  await writeFileAtomic(path, `${JSON.stringify(redactJson(lock), null, 2)}\n`)
  return path
}
