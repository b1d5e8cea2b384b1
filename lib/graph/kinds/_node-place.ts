import { mkdir, rename, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { homeLayout, nodePlace } from '../../layout/home.ts'
import type { TaskContext } from '../plugin.ts'

export const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false)

/**
 * Where a node goes (custom_nodes/<name>, or .disabled/<name>). Enabling or disabling moves the folder the tool made
 * (recognised by `mark`: a checkout's `.git`, a registry install's `.tracking`); the user's changes in it travel along.
 */
export async function nodeInPlace(ctx: Pick<TaskContext, 'env' | 'log'>, name: string, enabled: boolean, mark: string): Promise<string> {
  const home = homeLayout(ctx.env.home)
  const dir = home.nodeDir(name, enabled)
  const other = home.nodeDir(name, !enabled)
  if (!(await exists(dir)) && await exists(join(other, mark))) {
    await mkdir(dirname(dir), { recursive: true })
    await rename(other, dir)
    ctx.log(`moved ${name} to ${nodePlace(enabled)}`)
  }
  return dir
}
