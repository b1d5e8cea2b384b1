import { realize } from '../lib/pipeline/realize.ts'
import type { ComfyServer } from '../lib/comfy/launch.ts'
import { runDocument, type LaunchResult } from '../lib/report/run-document.ts'
import { bool, configFor, int, listenArg, printJson, reportDiagnostics, versionId, EXIT, type Command, type Io } from './_cli.ts'
import { exitCodeOf, prepareOrReport, realizeFlagsHelp, reportRefused, rendererFor, secretsOf, summarize } from './_realize-common.ts'
import { announceReady, exitCodeOfSignal, failedLaunchFacts, forwardSignal, launchForeground, receivedSignal } from './_launch.ts'

const command: Command = {
  name: 'run-ui',
  summary: 'realize, then run ComfyUI',
  locations: true,
  allowPositionals: 1,
  options: {
    port: { type: 'string', short: 'p' }, listen: { type: 'string' }, watch: { type: 'boolean' },
    offline: { type: 'boolean' }, frozen: { type: 'boolean' }, jobs: { type: 'string', short: 'j' }, force: { type: 'boolean' },
    'startup-timeout': { type: 'string' },
  },
  help: `Usage: npx tsx tasks run-ui <id> [--port N] [--listen ADDR] [--watch] [--offline] [--frozen] [--jobs N] [--force]
              [--startup-timeout S] [-- COMFYUI ARGS]

Realizes the version (only what is not up to date), then runs ComfyUI in the foreground:
<home>/.venv/bin/python main.py --listen ADDR --port N [launch.args] [ARGS]. Prints
"ComfyUI ready at http://HOST:PORT" once it answers. Ctrl-C or SIGTERM is passed on to ComfyUI,
and once it has stopped the command exits 130. When ComfyUI exits on its own, the command exits 0 if
ComfyUI did, else 1 (--json reports ComfyUI's own code as the launch's exit_code).

  --port N        the port (default: the spec's launch.port, 8188); 0 picks a free one
  --listen ADDR   the address (default: the spec's launch.listen, 127.0.0.1)
  --watch         realize again whenever the spec changes; ComfyUI restarts only when the core,
                  a node or the Python environment changed (not for models alone)
  --startup-timeout S  how long ComfyUI may take to answer (default: launch.startup_timeout_s, 600)
  -- ARGS         passed to ComfyUI after the spec's launch.args (not --port or --listen: use the flags)
${realizeFlagsHelp(['offline', 'frozen', 'jobs', 'force'], 18)}`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const config = await configFor(args, io, { offline: bool(args, 'offline') || undefined, jobs: int(args, 'jobs', 1, 256) })
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const flags = { port: int(args, 'port', 0, 65535), listen: listenArg(args), extraArgs: args.rest, secrets: secretsOf(config, io.env), startupTimeoutS: int(args, 'startup-timeout', 1, 24 * 3600) }
    if (bool(args, 'watch')) {
      const { watchUi } = await import('./_watch-ui.ts')
      return watchUi({ id, config, io, json, frozen: bool(args, 'frozen'), force: bool(args, 'force'), flags })
    }
    const prepared = await prepareOrReport(io, { id, config, frozen: bool(args, 'frozen'), json })
    if (typeof prepared === 'number') return prepared
    const realized = await realize({
      prepared, config, force: bool(args, 'force'), secrets: flags.secrets, processEnv: io.env, signal: io.signal,
      renderer: rendererFor(io), stream: io.progressStream, onNote: line => io.err(line),
    })
    if (!realized.ok) return reportRefused(io, { id, home: prepared.home, json }, realized.error)
    const subject = { version: id, home: prepared.home }
    const doc = summarize(io, subject, realized.value)
    if (!realized.value.ok) {
      if (json) printJson(io, doc)
      return exitCodeOf(realized.value)
    }
    // A Ctrl-C while ComfyUI starts stops it; once it is up, the Ctrl-C is forwarded to it.
    const started = Date.now()
    const launched = await launchForeground(io, prepared, flags)
    const report = (launch: LaunchResult) => runDocument(subject, realized.value, { launch: { ...launch, ms: Date.now() - started } })
    if (!launched.ok) {
      io.err(launched.error.message)
      if (json) printJson(io, report({ status: io.signal.aborted ? 'cancelled' : 'failed', ...failedLaunchFacts(launched.error) }))
      return io.signal.aborted ? EXIT.interrupted : launched.error.reason === 'bad-args' ? EXIT.usage : EXIT.failed
    }
    const server = launched.value
    announceReady(io, server, json)
    const exit = await forwardUntilExit(io, server)
    if (json) printJson(io, report({ status: exit.status, url: server.url, exit_code: exit.comfyCode }))
    return exit.code
  },
}
export default command

type LaunchStatus = Extract<LaunchResult['status'], 'ran' | 'failed' | 'cancelled'>

/**
 * Forwards Ctrl-C / SIGTERM to ComfyUI and waits for it to exit. The command's code follows the contract: 130 when
 * the user interrupted it (whatever ComfyUI's own code), else 0 or 1 as ComfyUI ended well or not.
 */
async function forwardUntilExit(io: Io, server: ComfyServer): Promise<{ code: number; comfyCode: number; status: LaunchStatus }> {
  const forward = () => forwardSignal(server, receivedSignal(io.signal))
  // The signal may have come in between the readiness probe and here.
  if (io.signal.aborted) forward()
  else io.signal.addEventListener('abort', forward, { once: true })
  const exit = await server.exited
  io.signal.removeEventListener('abort', forward)
  const comfyCode = exit.code ?? exitCodeOfSignal(exit.signal)
  if (io.signal.aborted) return { code: EXIT.interrupted, comfyCode, status: 'cancelled' }
  if (comfyCode === 0) return { code: EXIT.ok, comfyCode, status: 'ran' }
  io.err(`ComfyUI exited on its own (${exit.code !== null ? `exit code ${exit.code}` : exit.signal}); see its log above`)
  return { code: EXIT.failed, comfyCode, status: 'failed' }
}
