import { plan } from '../lib/pipeline/plan.ts'
import { bool, configFor, printJson, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'
import { prepareOrReport } from './_realize-common.ts'

const command: Command = {
  name: 'plan',
  summary: 'what realize would run, and why',
  locations: true,
  allowPositionals: 1,
  options: { offline: { type: 'boolean' }, frozen: { type: 'boolean' } },
  help: `Usage: npx tsx tasks plan <id> [--offline] [--frozen] [--json]

Shows, task by task, what \`realize <id>\` would run and why (which input changed), or that it is
up to date. Changes nothing in the home. Unpinned refs are resolved through the git mirrors first.`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const config = await configFor(args, io, { offline: bool(args, 'offline') || undefined })
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const prepared = await prepareOrReport(io, { id, config, frozen: bool(args, 'frozen'), json })
    if (typeof prepared === 'number') return prepared
    const rows = await plan(prepared, config, io.signal, io.env)
    if (json) {
      printJson(io, { version: id, home: prepared.home, ok: true, tasks: rows })
    } else {
      const w = Math.max(...rows.map(r => r.id.length))
      io.out(`${rows.map(r => `${r.status === 'run' ? 'run ' : 'skip'}  ${r.id.padEnd(w)}  ${r.reason}`).join('\n')}\n`)
      const n = rows.filter(r => r.status === 'run').length
      io.out(`${n ? `${n} of ${rows.length} tasks would run` : `up to date: nothing to run`} (home ${prepared.home})\n`)
    }
    return EXIT.ok
  },
}
export default command
