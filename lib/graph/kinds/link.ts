import { join } from 'node:path'
import { TaskFailure, type Json, type TaskPlugin } from '../plugin.ts'
import { linkModels, linksStand, readLinkManifest, type LinkRecord } from '../../models/link.ts'
import { STATE_DIR } from '../../engine/home.ts'
import { fetchedBlob } from './fetch-model.ts'

/**
 * The links the tool made, kept apart from the marker (which is removed before each run, and not
 * written after a half-done one) so that links of models that left the spec are known to be ours.
 */
const linksFile = (home: string) => join(home, STATE_DIR, 'links.json')

const records = (recorded: Json): LinkRecord[] =>
  recorded && typeof recorded === 'object' && !Array.isArray(recorded) && Array.isArray(recorded.links) ? recorded.links as unknown as LinkRecord[] : []

/** models/<path> → its blob for every model; links the tool made for dropped models go away. */
export const link: TaskPlugin = {
  kind: 'link',
  resource: 'none',
  tasks: (spec, env) => [{
    id: 'link', kind: 'link', deps: ['clone-core', ...spec.models.map(m => `fetch-model:${m.path}`)],
    inputDeps: spec.models.map(m => `fetch-model:${m.path}`),
    inputs: { mode: env.linkMode, models: spec.models.map(m => [m.path, m.sha256 ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))) },
  }],
  outputsStand: (_task, recorded, ctx) => linksStand(ctx.env.home, ctx.env.modelsDir, records(recorded)),
  async run(_task, ctx) {
    const entries = ctx.spec.models.map(m => {
      const blob = fetchedBlob(ctx.deps.get(`fetch-model:${m.path}`)?.outputs)
      if (!blob) throw new TaskFailure(`internal error: no blob recorded for ${m.path}`)
      return { path: m.path, sha256: blob.sha256 }
    })
    const r = await linkModels({
      home: ctx.env.home, modelsDir: ctx.env.modelsDir, mode: ctx.env.linkMode, entries,
      previous: await readLinkManifest(linksFile(ctx.env.home)), manifestPath: linksFile(ctx.env.home), signal: ctx.signal,
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
    return { outputs: { links: r.value.records as unknown as Json }, note: parts.join(', ') }
  },
}
