import { realize } from '../lib/pipeline/realize.ts'
import { bool, configFor, int, printJson, reportDiagnostics, versionId, type Command } from './_cli.ts'
import { exitCodeOf, prepareOrReport, realizeFlagsHelp, reportRefused, rendererFor, secretsOf, summarize } from './_realize-common.ts'

const command: Command = {
  name: 'realize',
  summary: 'build the version',
  locations: true,
  allowPositionals: 1,
  options: {
    frozen: { type: 'boolean' }, offline: { type: 'boolean' }, jobs: { type: 'string', short: 'j' },
    watch: { type: 'boolean' }, force: { type: 'boolean' }, adopt: { type: 'boolean' }, repair: { type: 'boolean' },
  },
  help: `Usage: npx tsx tasks realize <id> [--frozen] [--offline] [--jobs N] [--force] [--adopt] [--repair] [--watch] [--json]

Builds versions/<id>.json into its home: the core and custom nodes checked out at their commits,
models fetched into the shared store and linked, one Python environment with every node's
requirements resolved together. Each task is skipped when its inputs and outputs are unchanged,
so a second run does nothing.

${realizeFlagsHelp(['frozen', 'offline', 'jobs', 'force'], 16)}
  --adopt       take over a non-empty home the tool did not create (a pod's prefilled
                /workspace/ComfyUI) when it is a git checkout of the spec's core: what the spec
                names is brought to the spec, everything else (outputs, workflows, your models
                and nodes) stays; \`create <id> --from-home DIR\` writes a spec from such a folder
  --repair      run again every task whose outputs \`verify\` finds drifted (a package uninstalled,
                a node folder deleted, a link replaced), even when up to date; modified files in
                a checkout are reset only with --force
  --watch       realize again whenever the spec changes (Ctrl-C ends)`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const config = await configFor(args, io, { offline: bool(args, 'offline') || undefined, jobs: int(args, 'jobs', 1, 256) })
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    if (bool(args, 'watch')) {
      const { watchRealize } = await import('./_watch.ts')
      return watchRealize({ id, config, io, json, frozen: bool(args, 'frozen'), force: bool(args, 'force') })
    }
    const prepared = await prepareOrReport(io, { id, config, frozen: bool(args, 'frozen'), json })
    if (typeof prepared === 'number') return prepared
    const result = await realize({
      prepared, config, force: bool(args, 'force'), adopt: bool(args, 'adopt'), repair: bool(args, 'repair'), secrets: secretsOf(config, io.env), processEnv: io.env, signal: io.signal,
      renderer: rendererFor(io), stream: io.progressStream, onNote: line => io.err(line),
    })
    if (!result.ok) return reportRefused(io, { id, home: prepared.home, json }, result.error)
    const doc = summarize(io, { version: id, home: prepared.home }, result.value)
    if (json) printJson(io, doc)
    return exitCodeOf(result.value)
  },
}
export default command
