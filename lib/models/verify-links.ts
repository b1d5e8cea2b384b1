import { lstat, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { LinkRecord } from './link.ts'
import { blobPath, hashFile } from './store.ts'

/** One model's deep check (`model:<path>`). */
export interface LinkCheck { id: string; status: 'ok' | 'drift' | 'missing'; detail?: string }

/**
 * Every model the link task made: `models/<path>` still the tool's link (a symlink resolving to the blob, the blob's
 * hard link, or a copy of its size), the blob there with its size; with `hashes`, the bytes hashed again.
 */
export async function verifyLinks(home: string, modelsDir: string, links: readonly LinkRecord[], o: { hashes: boolean; signal?: AbortSignal }): Promise<LinkCheck[]> {
  return Promise.all(links.map(async (l): Promise<LinkCheck> => {
    const id = `model:${l.path}`
    const path = join(home, 'models', l.path)
    const blob = blobPath(modelsDir, l.sha256)
    const entry = await lstat(path).catch(() => undefined)
    if (!entry) return { id, status: 'missing', detail: `models/${l.path} is gone` }
    const blobStat = await stat(blob).catch(() => undefined)
    if (!blobStat) return { id, status: 'missing', detail: `the store's blob ${l.sha256.slice(0, 12)}… is gone` }
    if (l.mode === 'symlink') {
      if (!entry.isSymbolicLink()) return { id, status: 'drift', detail: `models/${l.path} is no longer the tool's link to the store (a file was put there)` }
      const target = await realpath(path).catch(() => undefined)
      if (target !== await realpath(blob)) return { id, status: 'drift', detail: `models/${l.path} points elsewhere than the blob of its pinned sha256` }
    } else if (l.mode === 'hardlink' && `${entry.dev}:${entry.ino}` !== `${blobStat.dev}:${blobStat.ino}`) {
      return { id, status: 'drift', detail: `models/${l.path} is no longer a hard link of the store's blob` }
    }
    const size = l.mode === 'copy' ? entry.size : blobStat.size
    if (l.size !== undefined && size !== l.size) return { id, status: 'drift', detail: `its size is ${size}, not ${l.size}` }
    if (o.hashes) {
      const got = await hashFile(l.mode === 'copy' ? path : blob, o.signal)
      if (got.sha256 !== l.sha256) return { id, status: 'drift', detail: `its bytes hash to ${got.sha256}, not the pinned ${l.sha256}` }
    }
    return { id, status: 'ok' }
  }))
}
