import type { DownloadProblem } from '../fetch/problems.ts'
import type { EnsureBlobOptions } from './ensure-blob.ts'
import { ok, type Result } from '../result.ts'
import { blobPath, blobState, lookupUrl, recordUrl } from './store.ts'

/**
 * Registry node archives live in the model store like any blob (by sha256). The registry publishes no hash, so the
 * store's URL index also records what `<registry>/nodes/<id>/install?version=<v>` gave: a second home, a second
 * version sharing the archive, or an offline run finds it there without asking the registry.
 */
export const archiveKey = (registryUrl: string, id: string, version: string): string =>
  `${registryUrl.replace(/\/+$/, '')}/nodes/${encodeURIComponent(id)}/install?version=${encodeURIComponent(version)}`

/** The archive's blob when the store has it (by the pinned sha256, or by what this id@version gave before). */
export async function archiveInStore(modelsDir: string, key: string, sha256: string | undefined): Promise<{ sha256: string; blob: string } | undefined> {
  const known = sha256 ?? (await lookupUrl(modelsDir, key))?.sha256
  if (!known) return undefined
  const state = await blobState(modelsDir, known)
  return state?.sealed ? { sha256: known, blob: blobPath(modelsDir, known) } : undefined
}

/** The download's options (`url`: the registry's `downloadUrl`; `name`: `<name> (<id>@<version>)`), plus the archive's key. */
export type EnsureArchiveOptions = Pick<EnsureBlobOptions, 'modelsDir' | 'url' | 'sha256' | 'name' | 'rules' | 'env' | 'signal' | 'onProgress' | 'onNote' | 'timeouts'> & { key: string }

/** Downloads an archive into the store (resumed, verified against the pin, under the URL's lock) and indexes it by its key. */
export async function ensureArchive(o: EnsureArchiveOptions): Promise<Result<{ sha256: string; blob: string; downloaded: boolean; bytesFetched: number }, DownloadProblem>> {
  const { ensureBlob } = await import('./ensure-blob.ts')
  const got = await ensureBlob({ ...o, offline: false })
  if (!got.ok) return got
  await recordUrl(o.modelsDir, o.key, got.value.sha256, got.value.size)
  return ok({ sha256: got.value.sha256, blob: got.value.blob, downloaded: got.value.downloaded, bytesFetched: got.value.bytesFetched })
}

