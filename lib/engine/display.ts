/**
 * The progress display of a realize: listr2's own renderers (the default one on a terminal, the simple one in CI or
 * without a TTY), configured here so that each line says what the task is doing:
 *
 *   ◼ uv-install                         waiting for its dependencies (dim, no spinner)
 *   ⠹ fetch-model:checkpoints/x 12s      running, with its own time
 *     › 42% 312.4 MB / 6.9 GB, 48.2 MB/s, 2m17s left
 *   ✔ clone-node:Foo 1.2s                ran
 *   ✔ venv (up to date)                  skipped: one quiet line
 *   ✖ uv-install failed after 3.2s       the cause, once, in the summary at the end
 *
 * Without a TTY nothing is redrawn: a task prints a line when it starts and when it ends, and its output lines carry
 * its id; a download prints one line per tenth of it, or every 30 s.
 */
import { createRequire } from 'node:module'
import type * as ListrModule from 'listr2'
import { formatDuration, progressPercent } from '../fetch/progress.ts'
import type { TaskResult } from './results.ts'

export type RendererChoice = 'default' | 'simple' | 'silent'

/** The part of listr2's task wrapper the display drives. */
export interface Wrapper { output: string; title: string; skip(message?: string): void; task: { state: string; state$: string } }

/** What the executor tells the display about one task, in this order. */
export interface TaskView {
  /** Its dependencies are done and it will run (it holds its slots). */
  running(): void
  /** A line of its log (the last one is shown under the title). */
  log(line: string): void
  /** Its one-line progress, shown at most a few times a second (in CI, once per tenth or 30 s). */
  progress(text: string): void
  /** How it ended; for a failure the error listr2 is to see. */
  finish(result: TaskResult): Error | undefined
}

// listr2 through its CommonJS build: under tsx every ES module costs a round trip to tsx's loader thread, and
// this one require saves a no-op realize 10-25 ms (docs/benchmarks.md). Same package, same version.
const listr2 = createRequire(import.meta.url)('listr2') as typeof ListrModule
export const { Listr } = listr2

/** How often a terminal's progress line may change: more is flicker nobody can read. */
export const TTY_PROGRESS_MS = 250
/** Without a terminal a download prints a line per this step of its size… */
export const CI_PROGRESS_PERCENT = 10
/** …or, when it is slow (or its size unknown), after this long. */
export const CI_PROGRESS_MS = 30_000
/** How often running tasks' own times are brought up to date on a terminal. */
const TICK_MS = 1_000

/** listr2's options for a run, its renderers configured as the header says. */
export function listrOptions(renderer: RendererChoice, stream: NodeJS.WriteStream) {
  // Both of listr2's streams go to one stream (stderr), so stdout carries only the --json document.
  const logger = () => new listr2.ListrLogger({ useIcons: true, toStderr: [], processOutput: new listr2.ProcessOutput(stream, stream) })
  return {
    concurrent: true,
    exitOnError: false,
    collectErrors: 'minimal' as const,
    registerSignalListeners: false,
    renderer,
    fallbackRenderer: renderer === 'silent' ? 'silent' as const : 'simple' as const,
    // The executor writes times into titles itself: listr2's timer counts from the run's start, not the task's.
    rendererOptions: { logger: logger(), collapseErrors: true, showErrorMessage: false, collapseSkips: true, formatOutput: 'truncate' as const },
    fallbackRendererOptions: { logger: logger() },
    forceTTY: renderer === 'default',
  }
}

/** One run's display: a view per task, and the ticker that keeps running tasks' times current. */
export class RunDisplay {
  readonly #running = new Map<Wrapper, { id: string; since: number }>()
  readonly #timer: NodeJS.Timeout | undefined

  constructor(readonly renderer: RendererChoice, private readonly now: () => number = Date.now) {
    if (renderer === 'default') {
      this.#timer = setInterval(() => { for (const [w, r] of this.#running) w.title = `${r.id} ${elapsed(this.now() - r.since)}` }, TICK_MS)
      this.#timer.unref()
    }
  }

  /**
   * A task's title when listr2 starts it. Without a TTY a task has none until it runs or ends: listr2's simple
   * renderer prints a line for every task that starts, and here every task starts at once, to wait for its
   * dependencies.
   */
  initialTitle(id: string): string | undefined {
    return this.renderer === 'default' ? id : undefined
  }

  /** The view of a task listr2 has just started: shown as waiting until `running()`. */
  view(id: string, wrapper: Wrapper): TaskView {
    const lines = this.renderer !== 'default'
    wrapper.task.state$ = 'WAITING'
    let since = this.now()
    let shownAt = -Infinity
    let shownPercent = -Infinity
    return {
      running: () => {
        since = this.now()
        wrapper.title = id
        wrapper.task.state$ = 'STARTED'
        if (!lines) this.#running.set(wrapper, { id, since })
      },
      log: line => { wrapper.output = lines ? `${id}: ${line}` : line },
      progress: text => {
        const t = this.now()
        const percent = progressPercent(text)
        if (lines) {
          const step = percent !== undefined && percent >= shownPercent + CI_PROGRESS_PERCENT
          if (!step && t - shownAt < CI_PROGRESS_MS) return
          if (percent !== undefined) shownPercent = percent - (percent % CI_PROGRESS_PERCENT)
        } else if (t - shownAt < TTY_PROGRESS_MS) return
        shownAt = t
        wrapper.output = lines ? `${id}: ${text}` : text
      },
      finish: r => {
        this.#running.delete(wrapper)
        // listr2 completes only a task in the STARTED state; set before the title, so the simple renderer prints
        // no "started" line for a task that did not run.
        if (wrapper.task.state !== 'STARTED') wrapper.task.state$ = 'STARTED'
        const took = r.ms !== undefined ? ` ${elapsed(r.ms)}` : ''
        if (r.status === 'skipped') wrapper.title = `${id} ${dim(`(${r.reason === 'up to date' ? 'up to date' : r.reason})`)}`
        else if (r.status === 'ran') wrapper.title = `${id}${took}${r.note ? `: ${r.note}` : ''}`
        else if (r.status === 'failed') { wrapper.title = `${id} failed after${took || ' 0s'}`; return new Error('the cause is in the summary below') }
        // The simple renderer prints the title beside the message; the default one shows the message alone.
        else { wrapper.title = id; wrapper.skip(`${lines ? '' : `${id}: `}${r.status} (${r.reason})`) }
        return undefined
      },
    }
  }

  stop(): void { if (this.#timer) clearInterval(this.#timer) }
}

// --- internal ---

/** "0.4s" under ten seconds, then "17s", "2m17s". */
function elapsed(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms / 1000)
}

const dim = (s: string) => listr2.color.dim(s)
