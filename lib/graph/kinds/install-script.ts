import { stat } from 'node:fs/promises'
import { nodeName } from '../../spec/names.ts'
import { defineKind, TaskFailure } from '../plugin.ts'
import { homeLayout } from '../../layout/home.ts'
import { nodeTaskId, type NamedNode } from './clone-node.ts'
import { madeVenv, venvIdentity } from './_python.ts'

/** A node's install.py, run once its requirements are installed (when the spec asks for it). */
export const installScript = defineKind({
  kind: 'install-script',
  resource: 'cpu',
  tasks: spec => spec.custom_nodes.filter(n => n.enabled && n.install_script).map(node => ({
    id: `install-script:${nodeName(node)}`, kind: 'install-script', deps: ['uv-install', nodeTaskId(node)],
    // The lock's hash reaches this fingerprint through uv-install's (a dependency).
    inputs: 'registry' in node ? { registry: node.registry, version: node.version } : { commit: node.commit },
    subject: { name: nodeName(node), node } satisfies NamedNode,
  })),
  // The environment it wrote into, as it is now (uv-install may have just made it again, with the same key): a stat.
  discover: async (_task, ctx) => ({ environment: await venvIdentity(ctx.env.home) }),
  parseOutputs: () => ({ ran: true as const }),
  outputsStand: ({ subject }, _ran, ctx) => stat(homeLayout(ctx.env.home).nodeDir(subject.name, true)).then(() => true, () => false),
  async run({ subject }, ctx) {
    const v = madeVenv(ctx)
    const { runInstallScript } = await import('../../python/install-script.ts')
    const r = await runInstallScript({
      nodeDir: homeLayout(ctx.env.home).nodeDir(subject.name, true), venvPython: v.python, timeoutMs: ctx.config.timeouts.installS * 1000,
      signal: ctx.signal, onLine: ctx.log, env: { ...ctx.processEnv },
    })
    if (!r.ok) throw new TaskFailure(r.error.message, r.error.details)
    return { outputs: { ran: true as const }, note: `install.py ran in ${(r.value.ms / 1000).toFixed(1)}s` }
  },
})
