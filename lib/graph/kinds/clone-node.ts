import { rename, rm, stat, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { nodeName } from '../../spec/names.ts'
import type { TaskPlugin } from '../plugin.ts'
import { normalizeRepoUrl } from '../../git/repo-url.ts'
import { checkoutRepo, checkoutStands, recordedCheckout } from './_checkout.ts'

/** Where a node lives: custom_nodes/<name>, or custom_nodes/.disabled/<name> when disabled. */
export const nodeDir = (home: string, name: string, enabled: boolean): string =>
  join(home, 'custom_nodes', ...(enabled ? [] : ['.disabled']), name)

/** A custom node checked out at its commit. Moving it between enabled and disabled is a rename. */
export const cloneNode: TaskPlugin = {
  kind: 'clone-node',
  resource: 'git',
  tasks: spec => spec.custom_nodes.map(node => ({
    id: `clone-node:${nodeName(node)}`, kind: 'clone-node', deps: ['clone-core'], inputDeps: [],
    inputs: { repo: normalizeRepoUrl(node.repo), commit: node.commit, enabled: node.enabled },
  })),
  outputsStand: (_task, recorded) => checkoutStands(recorded),
  async run(task, ctx) {
    const name = task.id.slice('clone-node:'.length)
    const node = ctx.spec.custom_nodes.find(n => nodeName(n) === name)!
    const dir = nodeDir(ctx.env.home, name, node.enabled)
    const other = nodeDir(ctx.env.home, name, !node.enabled)
    // Enabling or disabling moves the checkout; the user's changes in it travel along.
    if (!(await exists(dir)) && await exists(join(other, '.git'))) {
      await mkdir(dirname(dir), { recursive: true })
      await rename(other, dir)
      ctx.log(`moved ${name} to ${node.enabled ? 'custom_nodes/' : 'custom_nodes/.disabled/'}`)
    }
    return checkoutRepo(ctx, { url: node.repo, commit: node.commit, dir, label: name })
  },
  async prune(taskId, recorded, ctx) {
    const checkout = recordedCheckout(recorded)
    if (!checkout || !(await exists(checkout.dir))) return undefined
    // The folder goes only when nothing in it would be lost: what a user put there is never deleted without --force.
    const { workOnlyHere } = await import('../../git/local-modifications.ts')
    const status = await workOnlyHere(checkout.dir, { env: ctx.processEnv, signal: ctx.signal })
    const own = status.ok ? status.value : ['(its status could not be read)']
    if (own.length && !ctx.force) {
      const shown = own.length > 3 ? `${own.slice(0, 3).join(', ')} and ${own.length - 3} more` : own.join(', ')
      return `${taskId.slice('clone-node:'.length)} left the spec but holds work of its own (${shown}); kept at ${checkout.dir} (--force removes it)`
    }
    await rm(checkout.dir, { recursive: true, force: true })
    return `removed ${checkout.dir} (no longer in the spec)`
  },
}

const exists = (p: string) => stat(p).then(() => true, () => false)
