import type { ResolvedConfig } from '../lib/config/resolve.ts'
import type { RunResult } from '../lib/engine/results.ts'
import { runDocument, type LaunchResult } from '../lib/report/run-document.ts'
import { cycleSummary } from '../lib/report/run-summary.ts'
import { specFile, type Prepared } from '../lib/pipeline/prepare.ts'
import { realize } from '../lib/pipeline/realize.ts'
import { WatchLoop } from '../lib/watch/watch-loop.ts'
import { EXIT, type Io } from './_cli.ts'
import { prepareOrReport, prepareVersion, reportRefused, reportUnprepared, secretsOf } from './_realize-common.ts'

export interface WatchOptions { id: string; config: ResolvedConfig; io: Io; json: boolean; frozen: boolean; force: boolean }

/**
 * Checks the spec again; an invalid one is reported (with --json as a line of the run's shape, `ok` false, its
 * errors added) and the watch keeps the last good state.
 */
function specCheck(o: WatchOptions) {
  return async (): Promise<{ ok: true; value: Prepared } | { ok: false; report(): void }> => {
    const r = await prepareVersion(o.io, o)
    if (r.ok) return r
    return {
      ok: false,
      report: () => {
        reportUnprepared(o.io, o, r.error)
        o.io.err('the spec has problems; still watching, with the last good version in place')
      },
    }
  }
}

/** The first check failed: nothing to watch yet. Exit 2 (130 when interrupted), with --json the run's shape. */
async function firstCheckFailed(o: WatchOptions): Promise<number> {
  const code = await prepareOrReport(o.io, { id: o.id, config: o.config, frozen: o.frozen, json: o.json })
  return typeof code === 'number' ? code : EXIT.usage
}

/** One watch cycle's realize. Undefined when the home was refused (reported). */
async function realizeOnce(o: WatchOptions, prepared: Prepared, signal: AbortSignal): Promise<RunResult | undefined> {
  const r = await realize({
    prepared, config: o.config, force: o.force, secrets: secretsOf(o.config, o.io.env), processEnv: o.io.env,
    signal: AbortSignal.any([signal, o.io.signal]), renderer: 'silent', stream: o.io.progressStream, onNote: line => o.io.err(line),
  })
  if (!r.ok) { reportRefused(o.io, { id: o.id, home: prepared.home, json: o.json }, r.error); return undefined }
  return r.value
}

/** Prints a cycle's line: its document on stdout with --json (JSON lines), else its summary on stderr. `launch`: run-ui's row for ComfyUI's start. */
export function printCycle(o: WatchOptions, home: string, cycle: number, run: RunResult, launch?: LaunchResult): void {
  const doc = runDocument({ version: o.id, home }, run, { cycle, ...(launch ? { launch } : {}) })
  if (o.json) o.io.out(`${JSON.stringify(doc)}\n`)
  else o.io.err(cycleSummary(doc, run))
}

/**
 * The watch both commands share: the spec is checked first (a bad one ends it, exit 2); then each change realizes
 * again and `onCycle` gets the report. Ends on Ctrl-C (`onStop` is told first), with undefined, or on a refused
 * home, which no edit of the spec fixes, with exit 2. Documents are JSON lines throughout.
 */
export async function watchCycles(options: WatchOptions, onCycle: (o: WatchOptions, prepared: Prepared, signal: AbortSignal, cycle: number, run: RunResult) => Promise<void>,
  onStop?: () => void): Promise<number | undefined> {
  const o = { ...options, io: { ...options.io, jsonLines: true } }
  const check = specCheck(o)
  const first = await check()
  if (!first.ok) return firstCheckFailed(o)
  o.io.err(`watching ${specFile(o.config, o.id)} (Ctrl-C to stop)`)
  let refused = false
  const loop = new WatchLoop<Prepared>({
    files: [specFile(o.config, o.id)],
    check,
    run: async (prepared, signal, cycle) => {
      const report = await realizeOnce(o, prepared, signal)
      if (!report) { refused = true; void loop.stop(); return }
      await onCycle(o, prepared, signal, cycle, report)
    },
    onError: e => o.io.err(`watch: ${(e as Error).message ?? e}`),
  })
  o.io.signal.addEventListener('abort', () => { onStop?.(); void loop.stop() }, { once: true })
  await loop.start(first.value)
  return refused ? EXIT.usage : undefined
}

/** `realize --watch`: realize, then again after each change of the spec, until Ctrl-C. */
export async function watchRealize(o: WatchOptions): Promise<number> {
  const code = await watchCycles(o, async (w, prepared, _signal, cycle, report) => printCycle(w, prepared.home, cycle, report))
  return code ?? EXIT.interrupted
}
