import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { homeFor } from '../lib/config/resolve.ts'
import { readOwner } from '../lib/engine/home.ts'
import { readLastRun, type LastRun } from '../lib/engine/last-run.ts'
import { loadSpecFile } from '../lib/spec/load.ts'
import { unpinned } from '../lib/pipeline/prepare.ts'
import { bool, configFor, printJson, reportDiagnostics, EXIT, type Command } from './_cli.ts'

/** `realized`: the home holds this version whole; `incomplete`: its last realize failed or was stopped. */
interface Row {
  id: string; valid: boolean; pinned: boolean | null; nodes: number | null; models: number | null; home: string; realized: boolean; incomplete: boolean; problems?: number
  /** How the home's last realize and verify of this version ended (null: none recorded). */
  last_realize: LastRun | null; last_verify: LastRun | null
}

const command: Command = {
  name: 'list',
  summary: 'the versions, pinned or not, realized where',
  locations: true,
  options: {},
  help: `Usage: npx tsx tasks list [--json]

Lists the specs in the versions folder: whether each is valid and fully pinned (every repo at a
commit, every model with a sha256), and where it is realized; a home whose last realize failed or
was stopped is marked incomplete; after the home, when it was last realized and last verified (UTC),
and what verify found.`,
  async run(args, io) {
    const json = bool(args, 'json')
    const config = await configFor(args, io)
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    // A versions folder that does not exist yet has no versions; one that cannot be read is an error (thrown, named).
    const files = (await readdir(config.versionsDir).catch((e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return [] as string[]; throw e }))
      .filter(f => f.endsWith('.json')).sort()
    const rows: Row[] = []
    for (const f of files) {
      const id = f.slice(0, -5)
      const home = homeFor(config, id)
      const owner = await readOwner(home)
      const loaded = await loadSpecFile(join(config.versionsDir, f))
      const here = owner?.version === id
      const state = {
        realized: here && owner.complete !== false, incomplete: here && owner.complete === false,
        last_realize: here ? await readLastRun(home, 'realize') ?? null : null, last_verify: here ? await readLastRun(home, 'verify') ?? null : null,
      }
      rows.push(loaded.ok
        ? { id, valid: true, pinned: unpinned(loaded.value.spec).length === 0, nodes: loaded.value.spec.custom_nodes.length, models: loaded.value.spec.models.length, home, ...state }
        : { id, valid: false, pinned: null, nodes: null, models: null, home, ...state, problems: loaded.error.length })
    }
    if (json) {
      printJson(io, { ok: true, versions_dir: config.versionsDir, versions: rows })
      return EXIT.ok
    }
    if (!rows.length) {
      io.out(`no versions in ${config.versionsDir} (create one with \`npx tsx tasks create <id>\`)\n`)
      return EXIT.ok
    }
    const w = Math.max(...rows.map(r => r.id.length), 2)
    io.out(`${'id'.padEnd(w)}  state     pinned  nodes  models  home\n`)
    for (const r of rows) {
      const state = r.valid ? 'valid  ' : `invalid (${r.problems} problem${r.problems === 1 ? '' : 's'})`
      io.out(`${r.id.padEnd(w)}  ${state.padEnd(8)}  ${r.pinned === null ? '-     ' : r.pinned ? 'yes   ' : 'no    '}  ${String(r.nodes ?? '-').padStart(5)}  ${String(r.models ?? '-').padStart(6)}  ${r.home}${r.realized ? '' : r.incomplete ? ' (incomplete: its last realize failed or was stopped)' : ' (not realized)'}${history(r)}\n`)
    }
    return EXIT.ok
  },
}
export default command

const when = (r: LastRun) => `${r.at.slice(0, 16).replace('T', ' ')} UTC`

/** `; realized 2026-12-02 15:01 UTC; verified 2026-12-02 15:03 UTC: 2 of 11 checks do not hold` */
function history(r: Row): string {
  const parts: string[] = []
  if (r.last_realize) parts.push(`realized ${when(r.last_realize)}${r.last_realize.ok ? '' : ' (failed)'}`)
  if (r.last_verify) parts.push(`verified ${when(r.last_verify)}: ${r.last_verify.ok ? 'all hold' : `${r.last_verify.drift} of ${r.last_verify.checks} checks do not hold`}`)
  else if (r.realized) parts.push('never verified')
  return parts.length ? `; ${parts.join('; ')}` : ''
}
