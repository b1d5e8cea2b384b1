import { lstat, mkdir, realpath } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { unsafePathReason } from '../spec/names.ts'
import { err, ok, type Result } from '../result.ts'

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep)

/**
 * The absolute path of `rel` under `root` (a home's models/ folder), with its parent folders created, or why
 * it is refused: an unsafe relative path, a parent that is a file, or a folder on the way that is a symbolic
 * link leading outside `root` (a link inside it is fine, and `root` itself may be a link, as models/ often is).
 * With `create` false nothing is created (for removals): a missing parent just means there is nothing there.
 */
export async function guardedPath(root: string, rel: string, create = true): Promise<Result<string, string>> {
  const reason = unsafePathReason(rel)
  if (reason) return err(`models/${rel}: the path ${reason}`)
  if (create) await mkdir(root, { recursive: true })
  const rootReal = await realpath(root).catch(() => undefined)
  if (!rootReal) return create ? err(`models/${rel}: cannot resolve ${root}`) : ok(join(root, rel))
  const parts = rel.split('/')
  let current = root
  for (const part of parts.slice(0, -1)) {
    current = join(current, part)
    const st = await lstat(current).catch(() => undefined)
    if (!st) break
    if (st.isSymbolicLink()) {
      const real = await realpath(current).catch(() => undefined)
      if (!real || !inside(rootReal, real)) {
        return err(`models/${rel}: the folder ${current} is a symbolic link to ${real ?? 'a missing place'}, outside models/; refusing to write through it`)
      }
    } else if (!st.isDirectory()) {
      return err(`models/${rel}: ${current} is a file, not a folder`)
    }
  }
  const target = join(root, rel)
  if (!create && !(await lstat(dirname(target)).catch(() => undefined))) return ok(target)
  await mkdir(dirname(target), { recursive: true })
  // Checked again once the folders exist: nothing on the way may lead out of models/.
  const parentReal = await realpath(dirname(target))
  if (!inside(rootReal, parentReal)) return err(`models/${rel}: its folder resolves to ${parentReal}, outside models/; refusing`)
  return ok(target)
}
