import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** Bytes of the files under `path`, each inode counted once across calls that share `seen` (hard links, shared objects). */
export function du(path: string, seen = new Set<number>()): number {
  const st = lstatSync(path)
  if (st.isDirectory()) return readdirSync(path).reduce((n, e) => n + du(join(path, e), seen), 0)
  if (seen.has(st.ino)) return 0
  seen.add(st.ino)
  return st.size
}
