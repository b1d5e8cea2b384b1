import { mkdir, rename, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { homeLayout, nodePlace } from '../../layout/home.ts'
import { TaskFailure, type TaskContext } from '../plugin.ts'
import { symlinkOnTheWay } from '../../util/symlink-on-the-way.ts'

export const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false)

/**
 * Where a node goes (custom_nodes/<name>, or .disabled/<name>). Enabling or disabling moves the folder the tool made
 * (recognised by `mark`: a checkout's `.git`, a registry install's `.tracking`); the user's changes in it travel along.
 */
export async function nodeInPlace(ctx: Pick<TaskContext, 'env' | 'log'>, name: string, enabled: boolean, mark: string): Promise<string> {
  const home = homeLayout(ctx.env.home)
  const dir = home.nodeDir(name, enabled)
  const other = home.nodeDir(name, !enabled)
  // The tool makes no links under custom_nodes/: one there would have the node written outside the home.
  for (const place of [dir, other]) {
    const link = await symlinkOnTheWay(ctx.env.home, place)
    if (link) throw new TaskFailure(`${name}: ${link.path} is a symbolic link (to ${link.to}) the tool did not make; refusing to write through it. Remove the link (or replace it with the folder itself) and run again`)
  }
  if (!(await exists(dir)) && await exists(join(other, mark))) {
    await mkdir(dirname(dir), { recursive: true })
    await rename(other, dir)
    ctx.log(`moved ${name} to ${nodePlace(enabled)}`)
  }
  return dir
}
