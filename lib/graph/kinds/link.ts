import { defineKind, isRecord, outputsOf, TaskFailure, type Json } from '../plugin.ts'
import { linkModels, linksStand, readLinkManifest, type LinkRecord } from '../../models/link.ts'
import { homeLayout } from '../../layout/home.ts'
import { fetchModel, fetchModelId } from './fetch-model.ts'

/** What link records: every link it made. */
export interface Links { links: LinkRecord[] }

const parseLinks = (recorded: Json): Links | undefined =>
  isRecord(recorded) && Array.isArray(recorded.links) ? { links: recorded.links as unknown as LinkRecord[] } : undefined

/**
 * models/<path> → its blob for every model; links the tool made for dropped models go away. Its records are kept
 * in links.json too, apart from the marker (which is removed before each run, and not written after a half-done
 * one), so that links of models that left the spec are known to be ours.
 */
export const link = defineKind({
  kind: 'link',
  resource: 'none',
  tasks: (spec, env) => [{
    id: 'link', kind: 'link', deps: ['clone-core', ...spec.models.map(m => fetchModelId(m.path))],
    inputDeps: spec.models.map(m => fetchModelId(m.path)),
    inputs: { mode: env.linkMode, models: spec.models.map(m => [m.path, m.sha256 ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))) },
  }],
  parseOutputs: parseLinks,
  outputsStand: (_task, recorded, ctx) => linksStand(ctx.env.home, ctx.env.modelsDir, recorded.links),
  async verify(_task, recorded, ctx, opts) {
    const { verifyLinks } = await import('../../models/verify-links.ts')
    return verifyLinks(ctx.env.home, ctx.env.modelsDir, recorded.links, { hashes: opts.hashes, signal: ctx.signal })
  },
  async run(_task, ctx) {
    const entries = ctx.spec.models.map(m => ({ path: m.path, sha256: outputsOf(ctx, fetchModel, fetchModelId(m.path)).sha256 }))
    const manifestPath = homeLayout(ctx.env.home).linksFile
    const r = await linkModels({
      home: ctx.env.home, modelsDir: ctx.env.modelsDir, mode: ctx.env.linkMode, entries,
      previous: await readLinkManifest(manifestPath), manifestPath, signal: ctx.signal,
    })
    if (!r.ok) {
      // Each problem's message already starts with models/<path>; the summary names the paths too.
      const paths = r.error.filter(p => p.path).map(p => `models/${p.path}`)
      throw new TaskFailure(`${r.error.length} model link(s) could not be made${paths.length ? `: ${paths.join(', ')}` : ''}`, r.error.map(p => p.message))
    }
    for (const p of r.value.removed) ctx.log(`removed models/${p} (no longer in the spec)`)
    for (const p of r.value.adopted) ctx.log(`adopted models/${p} into the store (its sha256 is the pinned one)`)
    for (const p of r.value.left) ctx.log(`kept models/${p}: no longer in the spec, but replaced by you`)
    const parts = [`${r.value.linked.length} linked`, `${r.value.unchanged.length} unchanged`]
    if (r.value.removed.length) parts.push(`${r.value.removed.length} removed`)
    if (r.value.adopted.length) parts.push(`${r.value.adopted.length} adopted`)
    return { outputs: { links: r.value.records }, note: parts.join(', ') }
  },
})
