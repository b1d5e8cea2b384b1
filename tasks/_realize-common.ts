import { homeFor, type ResolvedConfig } from '../lib/config/resolve.ts'
import type { RendererChoice } from '../lib/engine/execute.ts'
import type { RunResult } from '../lib/engine/results.ts'
import { prepare, type Prepared, type PrepareProblem } from '../lib/pipeline/prepare.ts'
import { runDocument, unrunDocument, type RunDocument, type RunSubject } from '../lib/report/run-document.ts'
import { runSummary } from '../lib/report/run-summary.ts'
import { outsideChangesNote } from '../lib/report/outside-changes.ts'
import { EXIT, printJson, reportDiagnostics, type Io } from './_cli.ts'

/** The default renderer on a terminal, the simple one in CI or without a TTY. */
export function rendererFor(io: Io): RendererChoice {
  return io.isTTY && !io.env.CI ? 'default' : 'simple'
}

/** Values of the credentials the auth rules name, so that no output shows them. */
export const secretsOf = (config: ResolvedConfig, env: NodeJS.ProcessEnv): string[] =>
  config.auth.map(r => env[r.env]).filter((v): v is string => !!v)

/** Runs the preparation stages for a command: refs it resolves and lasting waits for a mirror are told on stderr. */
export const prepareVersion = (io: Io, o: { id: string; config: ResolvedConfig; frozen: boolean }) =>
  prepare({ id: o.id, config: o.config, frozen: o.frozen, signal: io.signal, env: io.env, onResolve: line => io.err(`resolved ${line}`), onWait: line => io.err(line) })

/** Runs the preparation stages and turns their failures into output and an exit code. */
export async function prepareOrReport(io: Io, o: { id: string; config: ResolvedConfig; frozen: boolean; json: boolean }): Promise<Prepared | number> {
  const r = await prepareVersion(io, o)
  return r.ok ? r.value : reportUnprepared(io, o, r.error)
}

/** A spec or config that could not be prepared: its problems on stderr, with --json a run's shape with them added. */
export function reportUnprepared(io: Io, o: { id: string; config: ResolvedConfig; json: boolean }, problem: PrepareProblem): number {
  // The --json document keeps the shape of a run's (version, home, ok, tasks), with what went wrong added.
  const home = homeFor(o.config, o.id)
  if (problem.reason === 'spec') return reportDiagnostics(io, problem.diagnostics, o.json, { version: o.id, home, tasks: [] })
  io.err(problem.message)
  if (o.json) printJson(io, unrunDocument({ version: o.id, home }, { error: problem.message }))
  return io.signal.aborted ? EXIT.interrupted : EXIT.failed
}

/** The realize flags, for the --help of the commands that realize first. */
const REALIZE_FLAGS = {
  frozen: ['--frozen', 'refuse a spec with an unpinned repo or model (run `validate <id>` to pin)'],
  offline: ['--offline', 'use the caches only (COMFY_OFFLINE=1); a missing object is named'],
  jobs: ['-j, --jobs N', 'at most N tasks at once (and at most N per resource: git, network, cpu)'],
  force: ['--force', 'discard local modifications in checkouts instead of stopping'],
} as const

/** Help lines for these realize flags, their text starting at column `width`. */
export const realizeFlagsHelp = (names: (keyof typeof REALIZE_FLAGS)[], width: number): string =>
  names.map(n => `  ${REALIZE_FLAGS[n][0].padEnd(width - 2)}${REALIZE_FLAGS[n][1]}`).join('\n')

/** realize() refused to start (the home is not one it may build in): exit 2, and with --json a run's shape with the reason. */
export function reportRefused(io: Io, o: { id: string; home: string; json: boolean }, error: string): number {
  io.err(error)
  if (o.json) printJson(io, unrunDocument({ version: o.id, home: o.home }, { error }))
  return EXIT.usage
}

/** A finished realize: its summary on stderr, its document returned for the caller to print (or add the launch to). */
export function summarize(io: Io, subject: RunSubject, run: RunResult): RunDocument {
  const doc = runDocument(subject, run)
  for (const line of runSummary(doc, run)) io.err(line)
  const outside = outsideChangesNote(doc)
  if (outside) io.err(outside)
  return doc
}

export const exitCodeOf = (run: RunResult): number => (run.ok ? EXIT.ok : run.cancelled ? EXIT.interrupted : EXIT.failed)
