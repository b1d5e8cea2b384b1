import { rm } from 'node:fs/promises'
import { basename } from 'node:path'
import { isRegistryNode, nodeName } from '../../spec/names.ts'
import { defineKind, type ResolvedGitNode, type ResolvedNode } from '../plugin.ts'
import { normalizeRepoUrl } from '../../git/repo-url.ts'
import { checkoutRepo, checkoutStands, parseCheckout, verifyCheckout } from './_checkout.ts'
import { exists, nodeInPlace } from './_node-place.ts'

/** A custom node with the folder name it is realized under. */
export interface NamedNode<N extends ResolvedNode = ResolvedNode> { name: string; node: N }

export const cloneNodeId = (name: string): string => `clone-node:${name}`
export const unpackNodeId = (name: string): string => `unpack-node:${name}`
/** The task that puts a node's files in place: its checkout, or its unpacked registry archive. */
export const nodeTaskId = (node: ResolvedNode): string => (isRegistryNode(node) ? unpackNodeId : cloneNodeId)(nodeName(node))

/** A custom node checked out at its commit. Moving it between enabled and disabled is a rename. */
export const cloneNode = defineKind({
  kind: 'clone-node',
  resource: 'git',
  tasks: spec => spec.custom_nodes.filter((n): n is ResolvedGitNode => !isRegistryNode(n)).map(node => ({
    id: cloneNodeId(nodeName(node)), kind: 'clone-node', deps: ['clone-core'], inputDeps: [],
    inputs: { repo: normalizeRepoUrl(node.repo), commit: node.commit, enabled: node.enabled },
    subject: { name: nodeName(node), node } satisfies NamedNode<ResolvedGitNode>,
  })),
  parseOutputs: parseCheckout,
  outputsStand: (_task, checkout) => checkoutStands(checkout),
  verify: ({ id }, checkout, ctx) => verifyCheckout(id, checkout, ctx),
  async run({ subject: { name, node } }, ctx) {
    const dir = await nodeInPlace(ctx, name, node.enabled, '.git')
    return checkoutRepo(ctx, { url: node.repo, commit: node.commit, dir, label: name })
  },
  async prune({ outputs: checkout }, ctx) {
    if (!(await exists(checkout.dir))) return undefined
    // The folder goes only when nothing in it would be lost: what a user put there is never deleted without --force.
    const { workOnlyHere } = await import('../../git/local-modifications.ts')
    const status = await workOnlyHere(checkout.dir, { env: ctx.processEnv, signal: ctx.signal })
    const own = status.ok ? status.value : ['(its status could not be read)']
    if (own.length && !ctx.force) {
      const shown = own.length > 3 ? `${own.slice(0, 3).join(', ')} and ${own.length - 3} more` : own.join(', ')
      return `${basename(checkout.dir)} left the spec but holds work of its own (${shown}); kept at ${checkout.dir} (--force removes it)`
    }
    await rm(checkout.dir, { recursive: true, force: true })
    return `removed ${checkout.dir} (no longer in the spec)`
  },
})

