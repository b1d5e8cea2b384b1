import { nodeName } from '../../spec/names.ts'
import { defineKind, isRecord, type Json } from '../plugin.ts'
import { sha256 } from '../../util/hash.ts'
import { downgradeInputs } from '../../python/downgrade.ts'
import { installedPackages } from '../../python/installed.ts'
import { homeLayout } from '../../layout/home.ts'
import { nodeTaskId } from './clone-node.ts'
import { collectedHash, collectFor, enabledNodeNames, readIfExists } from './_python.ts'

/** What collect-deps records: the hash of what it collected (uv-compile's input) and a redacted summary. */
export interface Collected { hash: string; summary: Json }

const parseCollected = (recorded: Json): Collected | undefined =>
  isRecord(recorded) && typeof recorded.hash === 'string' ? { hash: recorded.hash, summary: (recorded.summary ?? null) as Json } : undefined

/** Every enabled node's requirements and the core's, with the spec's rules applied (seed 004). */
export const collectDeps = defineKind({
  kind: 'collect-deps',
  resource: 'cpu',
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'collect-deps', kind: 'collect-deps',
      deps: ['clone-core', ...spec.custom_nodes.map(nodeTaskId), 'venv'],
      // The requirements files' contents are hashed (discover), not the commits they came from; a node
      // without a requirements.txt adds nothing, so it is not an input either.
      inputDeps: ['venv'],
      inputs: {
        requirements: p.requirements, constraints: p.constraints, overrides: p.overrides,
        blacklist: p.blacklist, downgrade_blacklist: p.downgrade_blacklist, node_indexes: p.node_indexes,
      },
    }]
  },
  async discover(_task, ctx) {
    const home = homeLayout(ctx.env.home)
    const hashOf = async (path: string) => { const b = await readIfExists(path); return b ? sha256(b) : null }
    const files: Record<string, string | null> = { comfyui: await hashOf(home.coreRequirements) }
    for (const name of enabledNodeNames(ctx)) {
      const hash = await hashOf(home.nodeRequirements(name))
      if (hash) files[name] = hash
    }
    return { requirements_files: files, installed: downgradeInputs(ctx.spec.python, installedPackages(home.venv)) }
  },
  parseOutputs: parseCollected,
  outputsStand: async () => true,
  async run(_task, ctx) {
    const c = await collectFor(ctx)
    const { collectedSummary } = await import('../../python/collect.ts')
    const summary = collectedSummary(c)
    for (const s of c.skipped) ctx.log(`skipped ${s.source}${s.lineNo ? `:${s.lineNo}` : ''}: ${s.line} (${s.reason})`)
    for (const n of c.notes) ctx.log(n)
    return {
      outputs: { hash: await collectedHash(c), summary: summary as unknown as Json },
      note: `${summary.requirements} requirement(s) for ${summary.packages} package(s)${c.skipped.length ? `, ${c.skipped.length} line(s) skipped` : ''}`
        // Who added which index, and which were refused: an index a node names can publish any package name.
        + Object.entries(summary.indexSources).map(([url, who]) => `; index ${url} added by ${who.join(', ')}`).join('')
        + summary.deniedIndexes.map(d => `; index ${d.url} from ${d.sources.join(', ')} not used (node_indexes: deny)`).join('')
        + summary.families.map(f => `; ${f.module}: ${f.chosen} (${f.rule})`).join(''),
      skipped: c.skipped.map(s => ({ source: s.source, line: s.line, reason: s.reason })),
    }
  },
})
