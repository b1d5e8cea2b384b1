import { homeFor } from '../lib/config/resolve.ts'
import { readOwner } from '../lib/engine/home.ts'
import { specFile } from '../lib/pipeline/prepare.ts'
import { homeContents, type ShowEntry } from '../lib/report/home-contents.ts'
import { displayPath, loadSpecFile } from '../lib/spec/load.ts'
import { bool, configFor, printJson, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'

const command: Command = {
  name: 'show',
  summary: 'what a spec names beside what its home holds',
  locations: true,
  allowPositionals: 1,
  options: {},
  help: `Usage: npx tsx tasks show <id>

Lists what versions/<id>.json names (the core, each custom node, each model, the Python
environment) beside what the home holds for it, and what the home holds that the spec does not
name (folders in custom_nodes/, files in models/: yours, which realize keeps). Reads files only:
no git, network or Python process. Each line's state: ok, differs (there, not as pinned: run
\`realize <id>\`, or \`verify <id>\` for the details), missing (not realized yet) or extra.`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const config = await configFor(args, io)
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const loaded = await loadSpecFile(specFile(config, id))
    if (!loaded.ok) return reportDiagnostics(io, loaded.error, json, { version: id })
    const home = homeFor(config, id)
    const owner = await readOwner(home)
    const entries = await homeContents(loaded.value.spec, home)
    const state = !owner ? 'not realized (or not made by comfy-vc)' : `${owner.adopted ? 'adopted' : 'made'} by comfy-vc${owner.complete === false ? ', last realize did not finish' : ''}`
    if (json) printJson(io, { version: id, file: loaded.value.file, home, realized: !!owner, entries })
    else io.out(render(displayPath(loaded.value.file, io.cwd), home, state, entries))
    return EXIT.ok
  },
}
export default command

function render(file: string, home: string, state: string, entries: ShowEntry[]): string {
  const rows = entries.map(e => [`${e.kind} ${e.name}`, e.spec ?? '(not in the spec)', e.home ?? '-', e.status])
  const width = (i: number) => Math.max(...rows.map(r => r[i]!.length), 4)
  const [a, b, c] = [width(0), width(1), width(2)]
  const head = `${'what'.padEnd(a)}  ${'spec'.padEnd(b)}  ${'home'.padEnd(c)}  state`
  const lines = rows.map(r => `${r[0]!.padEnd(a)}  ${r[1]!.padEnd(b)}  ${r[2]!.padEnd(c)}  ${r[3]}`)
  return `spec ${file}\nhome ${home} (${state})\n\n${head}\n${lines.join('\n')}\n`
}
