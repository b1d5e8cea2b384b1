import { stat } from 'node:fs/promises'
import { defineKind, isRecord, outputsOf, TaskFailure, type Json } from '../plugin.ts'
import { readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'
import { collectDeps } from './collect-deps.ts'
import { backendFor, collectFor, madeVenv, stepOptions } from './_python.ts'

/** What uv-compile records: the lock it pinned, or that the nodes are installed one by one after a conflict. */
export type Compiled = { lockPath: string; lockHash: string; pins: number; perNode?: undefined } | { perNode: true; lockHash: null }

function parseCompiled(recorded: Json): Compiled | undefined {
  if (!isRecord(recorded)) return undefined
  if (recorded.perNode === true) return { perNode: true, lockHash: null }
  const { lockPath, lockHash, pins } = recorded
  return typeof lockPath === 'string' && typeof lockHash === 'string' ? { lockPath, lockHash, pins: typeof pins === 'number' ? pins : 0 } : undefined
}

/** The collected requirements resolved in one batch into a lock (cached by everything that decides it). */
export const uvCompile = defineKind({
  kind: 'uv-compile',
  resource: 'cpu',
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'uv-compile', kind: 'uv-compile', deps: ['collect-deps', 'venv'],
      inputs: {
        python: p.version ?? null, index_url: p.index_url, extra_index_urls: p.extra_index_urls, find_links: p.find_links,
        torch_backend: p.torch_backend, exclude_newer: p.exclude_newer, on_conflict: p.on_conflict,
      },
    }]
  },
  async discover(_task, ctx) {
    const backend = backendFor(ctx)
    return {
      backend: `${backend.kind} ${backend.version}`,
      python_version: readVenv(homeLayout(ctx.env.home).venv)?.fullVersion ?? null,
      collected: outputsOf(ctx, collectDeps, 'collect-deps').hash,
      // Not `offline`: a lock resolved online serves an offline run as it is (a serverless worker realized at build time).
    }
  },
  parseOutputs: parseCompiled,
  outputsStand: async (_task, compiled) => compiled.perNode === true || await stat(compiled.lockPath).then(() => true, () => false),
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const v = madeVenv(ctx)
    const [{ compile }, { PER_NODE_WARNING }] = await Promise.all([import('../../python/compile.ts'), import('../../python/per-node.ts')])
    const r = await compile({
      ...stepOptions(ctx, backend, v.python, ctx.config.timeouts.compileS),
      collected: await collectFor(ctx), pythonVersion: v.fullVersion ?? v.version ?? 'unknown',
    })
    if (!r.ok) {
      if (r.error.reason === 'conflict' && ctx.spec.python.on_conflict === 'per-node') {
        ctx.log(PER_NODE_WARNING)
        for (const a of r.error.attribution) ctx.log(a)
        return { outputs: { perNode: true as const, lockHash: null }, note: `conflict: installing each node's requirements separately (${backend.label})` }
      }
      // The message already lists who asked for what (the attribution); details add the resolver's words.
      throw new TaskFailure(r.error.message, r.error.details)
    }
    return {
      outputs: { lockPath: r.value.lockPath, lockHash: r.value.lockHash, pins: r.value.pins.length },
      note: `${r.value.pins.length} pinned with ${backend.label}${r.value.cached ? ' (cached lock)' : ''}`,
    }
  },
})
