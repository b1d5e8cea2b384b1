import type { ComfyServer } from '../lib/comfy/launch.ts'
import type { Prepared } from '../lib/pipeline/prepare.ts'
import { realize } from '../lib/pipeline/realize.ts'
import { specFile } from '../lib/pipeline/prepare.ts'
import { WatchLoop } from '../lib/watch/watch-loop.ts'
import { EXIT } from './_cli.ts'
import { cycleLine, specCheck, type WatchOptions } from './_watch.ts'
import { announceReady, launchVersion, needsRestart, type LaunchFlags } from './_launch.ts'

/**
 * `run-ui --watch`: each spec change realizes again; ComfyUI is (re)started after a cycle that
 * changed the core, a node or the Python environment, and left running when only models changed.
 */
export async function watchUi(o: WatchOptions & { flags: LaunchFlags }): Promise<number> {
  const check = specCheck(o)
  const first = await check()
  if (!first.ok) { first.report(); return EXIT.usage }
  let server: ComfyServer | undefined
  let lastCode: number | null = null

  const restart = async (prepared: Prepared, why: string) => {
    if (server) {
      o.io.err(`restarting ComfyUI: ${why}`)
      await server.stop()
      server = undefined
    }
    const launched = await launchVersion(o.io, prepared, o.flags, new AbortController().signal)
    if (!launched.ok) { o.io.err(launched.error.message); return }
    const s = launched.value
    server = s
    announceReady(o.io, s, o.json)
    void s.exited.then(e => {
      if (server !== s) return
      lastCode = e.code
      server = undefined
      o.io.err(`ComfyUI exited (${e.code ?? e.signal}); still watching: the next change starts it again`)
    })
  }

  o.io.err(`watching ${specFile(o.config, o.id)} (Ctrl-C to stop)`)
  const loop = new WatchLoop<Prepared>({
    files: [specFile(o.config, o.id)],
    check,
    run: async (prepared, signal, cycle) => {
      const r = await realize({
        prepared, config: o.config, force: o.force, secrets: o.flags.secrets, processEnv: o.io.env,
        signal: AbortSignal.any([signal, o.io.signal]), renderer: 'silent', stream: process.stderr, onNote: line => o.io.err(line),
      })
      if (!r.ok) { o.io.err(r.error); return }
      const line = cycleLine({ id: o.id, home: prepared.home, cycle, report: r.value, json: o.json })
      if (o.json) o.io.out(`${line}\n`)
      else o.io.err(line)
      if (!r.value.ok || signal.aborted) return
      if (!server) await restart(prepared, 'first start')
      else if (needsRestart(r.value.tasks)) await restart(prepared, r.value.tasks.filter(t => t.status === 'ran').map(t => t.id).join(', '))
    },
    onError: e => o.io.err(`watch: ${(e as Error).message ?? e}`),
  })
  o.io.signal.addEventListener('abort', () => void loop.stop(), { once: true })
  await loop.start(first.value)
  if (server) lastCode = await (server as ComfyServer).stop()
  return lastCode ?? EXIT.interrupted
}
