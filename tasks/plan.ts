import { contextBase, plan } from '../lib/pipeline/plan.ts'
import { homeLayout } from '../lib/layout/home.ts'
import { planDocument, planText } from '../lib/report/plan-document.ts'
import { bool, configFor, printJson, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'
import { prepareOrReport, secretsOf } from './_realize-common.ts'

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
    // The context realize would give its tasks, secrets included: both decide through the same rule.
    const base = contextBase(prepared, { config, secrets: secretsOf(config, io.env), force: false, processEnv: io.env })
    const rows = await plan(prepared, base, io.signal)
    const { protectedNow } = await import('../lib/python/protected-now.ts')
    const doc = planDocument({ version: id, home: prepared.home }, rows, { protected: protectedNow(homeLayout(prepared.home).venv, prepared.spec.python) })
    if (json) printJson(io, doc)
    else io.out(planText(doc))
    return EXIT.ok
  },
}
export default command
