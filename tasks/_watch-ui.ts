import type { ComfyServer } from '../lib/comfy/launch.ts'
import type { LaunchResult } from '../lib/report/run-document.ts'
import type { Prepared } from '../lib/pipeline/prepare.ts'
import { EXIT } from './_cli.ts'
import { printCycle, watchCycles, type WatchOptions } from './_watch.ts'
import { announceReady, failedLaunchFacts, forwardSignal, launchForeground, loadedAtStart, receivedSignal, type LaunchFlags } from './_launch.ts'

/** How long ComfyUI may take to stop on the forwarded Ctrl-C before it is killed. */
const STOP_GRACE_MS = 10_000

/**
 * `run-ui --watch`: each spec change realizes again; ComfyUI is (re)started after a good cycle when
 * something it loads at start (the core, a node, the Python environment) changed since it was started,
 * in this cycle or in a failed or superseded one, and left running when only models changed. Ctrl-C is
 * forwarded to ComfyUI as in run-ui; once it has stopped, the command exits 130.
 */
export async function watchUi(options: WatchOptions & { flags: LaunchFlags }): Promise<number> {
  const o = { ...options, io: { ...options.io, jsonLines: true } }
  let server: ComfyServer | undefined
  let stopping = false
  /** Tasks that ran since ComfyUI was last started and changed what it loads at start. */
  const unloaded = new Set<string>()

  /** Starts (or restarts) ComfyUI; the cycle's `launch` row. */
  const start = async (prepared: Prepared, signal: AbortSignal): Promise<LaunchResult> => {
    const started = Date.now()
    if (server) {
      o.io.err(`restarting ComfyUI: ${[...unloaded].join(', ')}`)
      const old = server
      server = undefined // before it exits: this exit is ours, not one to report
      await old.stop()
    }
    // A change during the start supersedes this cycle and aborts the start; so does Ctrl-C.
    const launched = await launchForeground(o.io, prepared, o.flags, { signal })
    const row = { ms: Date.now() - started }
    if (!launched.ok) {
      if (signal.aborted) return { ...row, status: 'cancelled' }
      o.io.err(`${launched.error.message}\nstill watching: the next change starts ComfyUI again`)
      return { ...row, status: 'failed', ...failedLaunchFacts(launched.error) }
    }
    const s = launched.value
    server = s
    unloaded.clear()
    announceReady(o.io, s, o.json)
    void s.exited.then(e => {
      if (server !== s || stopping) return
      server = undefined
      o.io.err(`ComfyUI exited (${e.code ?? e.signal}); still watching: the next change starts it again`)
    })
    return { ...row, status: 'ran', url: s.url }
  }

  const code = await watchCycles(o, async (_o, prepared, signal, cycle, report) => {
    // Even a failed or cancelled cycle may have changed a checkout: remembered until ComfyUI starts again.
    for (const t of report.tasks) if (loadedAtStart(t)) unloaded.add(t.id)
    if (!report.ok || signal.aborted) { printCycle(o, prepared.home, cycle, report); return }
    const launch: LaunchResult = !server || unloaded.size > 0 ? await start(prepared, signal)
      : { status: 'skipped', reason: 'ComfyUI keeps running: nothing it loads at start changed' }
    printCycle(o, prepared.home, cycle, report, launch)
  }, () => { stopping = true })
  if (code !== undefined) return code
  const s = server as ComfyServer | undefined
  if (!s) return EXIT.interrupted
  forwardSignal(s, receivedSignal(o.io.signal))
  const kill = setTimeout(() => s.kill('SIGKILL'), STOP_GRACE_MS)
  await s.exited
  clearTimeout(kill)
  return EXIT.interrupted
}
