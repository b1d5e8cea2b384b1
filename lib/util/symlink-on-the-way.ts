import { lstat, readlink } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'

/**
 * The first entry on the way from `root` to `target` (both included, `root` excepted) that is a symbolic link,
 * and where it leads; undefined when there is none (missing entries end the walk: nothing to write through).
 * For places the tool never makes links in (custom_nodes/<node>): a link there was put by someone else, and
 * writing through it would write outside the home.
 */
export async function symlinkOnTheWay(root: string, target: string): Promise<{ path: string; to: string } | undefined> {
  const rel = relative(root, target)
  if (!rel || rel.startsWith('..')) return undefined
  let current = root
  for (const part of rel.split(sep)) {
    current = join(current, part)
    const st = await lstat(current).catch(() => undefined)
    if (!st) return undefined
    if (st.isSymbolicLink()) return { path: current, to: await readlink(current).catch(() => '?') }
  }
  return undefined
}
