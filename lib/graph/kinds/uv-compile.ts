import { stat } from 'node:fs/promises'
import { defineKind, isRecord, outputsOf, TaskFailure, type Json } from '../plugin.ts'
import { readVenv } from '../../python/interpreter.ts'
import { homeLayout } from '../../layout/home.ts'
import { protectMatcher } from '../../python/protect.ts'
import { readInstalledRecord } from '../../python/installed-record.ts'
import { resolveTorchBackend } from '../../python/torch-backend.ts'
import { sha256 } from '../../util/hash.ts'
import { collectDeps } from './collect-deps.ts'
import { backendFor, collectFor, installedFor, madeVenv, stepOptions } from './_python.ts'

/** A distribution the lock keeps as installed (protected, or the base's), as uv-compile records it. */
export interface KeptDist { name: string; version: string; why: 'protected' | 'base'; from: 'environment' | 'base' }

/** What uv-compile records: the lock it pinned, or that the nodes are installed one by one after a conflict. */
export type Compiled = { lockPath: string; lockHash: string; pins: number; provided: KeptDist[]; perNode?: undefined } | { perNode: true; lockHash: null; provided?: undefined }

function parseCompiled(recorded: Json): Compiled | undefined {
  if (!isRecord(recorded)) return undefined
  if (recorded.perNode === true) return { perNode: true, lockHash: null }
  const { lockPath, lockHash, pins, provided } = recorded
  return typeof lockPath === 'string' && typeof lockHash === 'string'
    ? { lockPath, lockHash, pins: typeof pins === 'number' ? pins : 0, provided: Array.isArray(provided) ? provided as unknown as KeptDist[] : [] }
    : undefined
}

/** The collected requirements resolved in one batch into a lock (cached by everything that decides it). */
export const uvCompile = defineKind({
  kind: 'uv-compile',
  resource: 'cpu',
  // Early cutoff: what uv-install takes from a compile is the lock's content and the builds kept beside it, not the
  // path (keyed by the compile's inputs) it was written to; a compile that pins the same again leaves it skipped.
  outputHash: (c: Compiled) => ({ lock: c.lockHash ?? 'per-node', kept: (c.provided ?? []).map(p => `${p.name}==${p.version} ${p.why}`) }),
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'uv-compile', kind: 'uv-compile', deps: ['collect-deps', 'venv'],
      inputs: {
        python: p.version ?? null, index_url: p.index_url, extra_index_urls: p.extra_index_urls, find_links: p.find_links,
        torch_backend: p.torch_backend, exclude_newer: p.exclude_newer, on_conflict: p.on_conflict,
        protect: p.protect, system_site_packages: p.system_site_packages, index_strategy: p.index_strategy,
      },
    }]
  },
  async discover(_task, ctx) {
    const backend = backendFor(ctx)
    const installed = installedFor(ctx)
    const isProtected = protectMatcher(ctx.spec.python.protect)
    const record = readInstalledRecord(homeLayout(ctx.env.home).pythonRecord)
    return {
      backend: `${backend.kind} ${backend.version}`,
      python_version: readVenv(homeLayout(ctx.env.home).venv)?.fullVersion ?? null,
      collected: outputsOf(ctx, collectDeps, 'collect-deps').hash,
      // `auto` as this machine decides it: a GPU-less build box and a GPU worker get different locks.
      torch_backend: resolveTorchBackend(ctx.spec.python.torch_backend),
      // What the compile keeps at its installed build, except what the tool itself installed at that very version: that
      // one is what the last lock chose, and re-resolving with it kept gives the same lock, so a second realize after the
      // first installed torch stays a no-op. A torch changed by hand, or the image's, is an input.
      protected: [...installed.environment, ...installed.base].filter(d => isProtected(d.name) && record[d.name] !== d.version).map(d => `${d.name}==${d.version}`),
      // The base's packages as a whole (they may be kept when asked).
      base_packages: installed.base.length ? sha256(installed.base.map(d => `${d.name}==${d.version}`).join('\n')) : null,
      // Not `offline`: a lock resolved online serves an offline run as it is (a serverless worker realized at build time).
    }
  },
  parseOutputs: parseCompiled,
  outputsStand: async (_task, compiled) => compiled.perNode === true || await stat(compiled.lockPath).then(() => true, () => false),
  async run(_task, ctx) {
    const backend = backendFor(ctx)
    const v = madeVenv(ctx)
    const [{ compile }, { PER_NODE_WARNING }, { protectedLine }] = await Promise.all([import('../../python/compile.ts'), import('../../python/per-node.ts'), import('../../python/protect.ts')])
    const collected = await collectFor(ctx)
    const r = await compile({
      ...stepOptions(ctx, backend, v.python, ctx.config.timeouts.compileS),
      collected, pythonVersion: v.fullVersion ?? v.version ?? 'unknown', installed: installedFor(ctx),
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
    const provided: KeptDist[] = r.value.provided.map(p => ({ name: p.name, version: p.version, why: p.why, from: p.from }))
    // Said only when something is kept: a first realize, with no torch installed yet, protects nothing.
    const kept = provided.some(p => p.why === 'protected') ? protectedLine(provided) : undefined
    if (kept) ctx.log(`protected: ${kept}`)
    for (const p of provided.filter(p => p.why === 'base')) ctx.log(`provided by the base interpreter (not installed again): ${p.name} ${p.version}`)
    for (const f of collected.families) ctx.log(`one module per import name: ${f.module} → ${f.chosen} (${f.rule})`)
    return {
      outputs: { lockPath: r.value.lockPath, lockHash: r.value.lockHash, pins: r.value.pins.length, provided },
      note: `${r.value.pins.length} pinned with ${backend.label}${r.value.cached ? ' (cached lock)' : ''}${kept ? `; protected: ${kept}` : ''}`,
    }
  },
})
