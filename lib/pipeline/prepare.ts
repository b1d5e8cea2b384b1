import { join } from 'node:path'
import { cacheLayout } from '../layout/cache.ts'
import { homeFor, type ResolvedConfig } from '../config/resolve.ts'
import { loadSpecFile, type LoadedSpec } from '../spec/load.ts'
import { isRegistryNode, nodeName } from '../spec/names.ts'
import type { Spec } from '../spec/schema.ts'
import type { Diagnostic } from '../spec/diagnostic.ts'
import type { AnyTaskPlugin, GraphEnv, ResolvedNode, ResolvedSpec } from '../graph/plugin.ts'
import { resolveRegistryNodes } from './registry-nodes.ts'
import { compileGraph, type Graph } from '../graph/compile.ts'
import { BUILTIN_PLUGINS } from '../graph/kinds/index.ts'
import { Limit } from '../util/limit.ts'
import { err, ok, type Result } from '../result.ts'

/** Why a version could not be prepared; `usage` problems exit 2, the others 1. */
export type PrepareProblem =
  | { reason: 'spec'; diagnostics: Diagnostic[] }
  | { reason: 'git'; message: string }
  | { reason: 'registry'; message: string }

export interface Prepared {
  loaded: LoadedSpec
  spec: ResolvedSpec
  home: string
  env: GraphEnv
  graph: Graph
  plugins: Map<string, AnyTaskPlugin>
  /** Refs that were resolved now because the spec does not pin them. */
  resolved: { where: string; label: string; ref: string; commit: string }[]
}

export const specFile = (config: ResolvedConfig, id: string): string => join(config.versionsDir, `${id}.json`)

/** Spec paths (for diagnostics) of repos and models that are not pinned. */
export function unpinned(spec: Spec): { path: string; what: string }[] {
  const out: { path: string; what: string }[] = []
  if (!spec.comfyui.commit) out.push({ path: 'comfyui.commit', what: 'the ComfyUI core has no commit' })
  spec.custom_nodes.forEach((n, i) => {
    if (!isRegistryNode(n)) { if (!n.commit) out.push({ path: `custom_nodes[${i}].commit`, what: `node ${nodeName(n)} has no commit` }); return }
    if (!n.version) out.push({ path: `custom_nodes[${i}].version`, what: `registry node ${nodeName(n)} has no version` })
    if (!n.sha256) out.push({ path: `custom_nodes[${i}].sha256`, what: `registry node ${nodeName(n)} has no archive sha256` })
  })
  spec.models.forEach((m, i) => { if (!m.sha256) out.push({ path: `models[${i}].sha256`, what: `model ${m.path} has no sha256` }) })
  return out
}

/**
 * The stages before execution: load and validate the spec, refuse an unpinned one when frozen,
 * resolve unpinned refs through the mirrors, and compile the graph. `onWait` hears of a lasting wait
 * for a mirror's lock (another process fetching into it).
 */
export async function prepare(o: { id: string; config: ResolvedConfig; frozen: boolean; signal: AbortSignal; env: Readonly<Record<string, string | undefined>>; onResolve?(line: string): void; onWait?(line: string): void }): Promise<Result<Prepared, PrepareProblem>> {
  const file = specFile(o.config, o.id)
  const loaded = await loadSpecFile(file, { cacheDir: cacheLayout(o.config.cacheRoot).specs })
  if (!loaded.ok) return err({ reason: 'spec', diagnostics: loaded.error })
  const spec = loaded.value.spec
  if (o.frozen) {
    const missing = unpinned(spec)
    if (missing.length) {
      return err({ reason: 'spec', diagnostics: missing.map(m => ({ file, path: m.path, message: `--frozen needs every repo and model pinned: ${m.what} (run \`validate ${o.id}\` to pin it)` })) })
    }
  }
  const resolved: Prepared['resolved'] = []
  const resolveOne = async (where: string, label: string, repo: string, ref: string | undefined): Promise<string | PrepareProblem> => {
    // Loaded only here: a pinned spec starts no git, and should not load the git adapter either.
    const { resolveRef } = await import('../git/resolve-ref.ts')
    const r = await resolveRef({ cacheRoot: o.config.cacheRoot, url: repo, ref, offline: o.config.offline, refresh: false, env: o.env, signal: o.signal, onWait: o.onWait })
    if (!r.ok) {
      return r.error.reason === 'missing-ref'
        ? { reason: 'spec', diagnostics: [{ file, path: `${where}.ref`, message: `${label}: ${r.error.message}` }] }
        : { reason: 'git', message: `${label}: ${r.error.message}` }
    }
    resolved.push({ where, label, ref: ref ?? 'HEAD', commit: r.value.commit })
    o.onResolve?.(`${label}: ${ref ?? 'default branch'} → ${r.value.commit.slice(0, 10)} (not pinned; \`validate ${o.id}\` writes it into the spec)`)
    return r.value.commit
  }
  const coreCommit = spec.comfyui.commit ?? await resolveOne('comfyui', 'ComfyUI core', spec.comfyui.repo, spec.comfyui.ref)
  if (typeof coreCommit !== 'string') return err(coreCommit)
  const gate = new Limit(o.config.concurrency.git)
  const commits = await Promise.all(spec.custom_nodes.map(async (n, i) => {
    if (isRegistryNode(n)) return ''
    if (n.commit) return n.commit
    // Interrupted while waiting for a slot: a problem like any other, so the command still reports it (130).
    const release = await gate.acquire(o.signal).catch(() => undefined)
    if (!release) return { reason: 'git', message: `${nodeName(n)}: interrupted before its ref was resolved` } satisfies PrepareProblem
    try { return await resolveOne(`custom_nodes[${i}]`, nodeName(n), n.repo, n.ref) } finally { release() }
  }))
  const failed = commits.find((c): c is PrepareProblem => typeof c !== 'string')
  if (failed) return err(failed)
  const registry = await resolveRegistryNodes({ spec, file, config: o.config, signal: o.signal })
  if (registry.diagnostics.length) return err({ reason: 'spec', diagnostics: registry.diagnostics })
  if (registry.failures.length) return err({ reason: 'registry', message: registry.failures.join('\n') })
  for (const a of registry.answers) if (a.latest) o.onResolve?.(`${nodeName(spec.custom_nodes[a.index]!)}: latest → ${a.version} (not pinned; \`validate ${o.id}\` writes it into the spec)`)
  const answerFor = new Map(registry.answers.map(a => [a.index, a]))
  const nodes = spec.custom_nodes.map((n, i): ResolvedNode => {
    if (!isRegistryNode(n)) return { ...n, commit: commits[i] as string }
    const a = answerFor.get(i)!
    return { ...n, version: a.version, ...(a.archiveUrl ? { archiveUrl: a.archiveUrl } : {}) }
  })
  const resolvedSpec: ResolvedSpec = { ...spec, comfyui: { ...spec.comfyui, commit: coreCommit }, custom_nodes: nodes }
  const home = homeFor(o.config, o.id)
  const env: GraphEnv = { home, cacheRoot: o.config.cacheRoot, modelsDir: o.config.modelsDir, installer: o.config.installer, linkMode: o.config.linkMode }
  const all = [...BUILTIN_PLUGINS, ...o.config.plugins]
  const graph = compileGraph(resolvedSpec, env, all)
  if (!graph.ok) {
    return err({ reason: 'spec', diagnostics: graph.error.map(message => ({ file: o.config.configFile ?? 'graph', path: 'plugins', message })) })
  }
  return ok({ loaded: loaded.value, spec: resolvedSpec, home, env, graph: graph.value, plugins: new Map(all.map(p => [p.kind, p])), resolved })
}
