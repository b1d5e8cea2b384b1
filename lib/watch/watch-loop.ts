import { watch, type FSWatcher } from 'chokidar'
import { basename, dirname, resolve } from 'node:path'

/**
 * Re-runs a cycle whenever a watched file changes.
 *
 *            start()
 *               │
 *               ▼
 *   ┌──────▶ running ──── change ───▶ (abort the run) ──┐
 *   │           │                                        │
 *   │       run settles                                  │
 *   │           ▼                                        ▼
 *   │        watching ──── change ───▶ debouncing ◀── change (restart timer)
 *   │                                     │
 *   │                              timer fires: check()
 *   │                          valid │          │ invalid: report, keep the last good state
 *   └────────────────────────────────┘          └──────▶ watching
 *
 * `stop()` (Ctrl-C) aborts a run in flight and ends in `stopped` from any state.
 */
export type WatchState = 'initial' | 'running' | 'watching' | 'debouncing' | 'stopped'

export interface WatchLoopOptions<T> {
  /** Files whose change starts a new cycle (their folders are watched; names are filtered). */
  files: string[]
  debounceMs?: number
  /** Reads the inputs again; a failure is reported and the loop keeps the last good inputs. */
  check(): Promise<{ ok: true; value: T } | { ok: false; report(): void }>
  /** One cycle with the inputs that passed `check`; must stop early when `signal` aborts. */
  run(inputs: T, signal: AbortSignal, cycle: number): Promise<void>
  onState?(state: WatchState): void
  onError?(e: unknown): void
}

export class WatchLoop<T> {
  #state: WatchState = 'initial'
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #run: { ac: AbortController; done: Promise<void> } | undefined
  #changedWhileRunning = false
  #cycle = 0
  /** Debounced checks run one after another; a check skips itself when a later one is queued. */
  #checks = 0
  #checking: Promise<void> = Promise.resolve()
  #stopped!: () => void
  readonly #finished = new Promise<void>(r => { this.#stopped = r })

  constructor(private readonly o: WatchLoopOptions<T>) {}

  get state(): WatchState { return this.#state }

  /** Runs the first cycle and watches until `stop()`; resolves when stopped. */
  async start(initial: T): Promise<void> {
    this.#ensureState('initial')
    const names = new Set(this.o.files.map(f => resolve(f)))
    const dirs = [...new Set(this.o.files.map(f => dirname(resolve(f))))]
    // chokidar 5 watches no globs: watch the folders and keep only our files.
    this.#watcher = watch(dirs, {
      ignoreInitial: true, depth: 0, atomic: true,
      awaitWriteFinish: { stabilityThreshold: 60, pollInterval: 20 },
      ignored: (p, st) => !!st?.isFile() && !names.has(resolve(p)) && !dirs.includes(resolve(p)),
    })
    this.#watcher.on('all', (_event, path) => { if (names.has(resolve(path)) || names.has(resolve(dirname(path), basename(path)))) this.#onChange() })
    this.#watcher.on('error', e => this.o.onError?.(e))
    await new Promise<void>(r => this.#watcher!.once('ready', () => r()))
    this.#startRun(initial)
    await this.#finished
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    clearTimeout(this.#timer)
    this.#set('stopped')
    this.#run?.ac.abort()
    await this.#run?.done
    await this.#watcher?.close()
    this.#stopped()
  }

  #onChange(): void {
    if (this.#state === 'stopped') return
    if (this.#state === 'running') {
      // Abort only once the new inputs are known to be valid: checked after the debounce.
      this.#changedWhileRunning = true
    }
    if (this.#state !== 'running') this.#set('debouncing')
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      const ticket = ++this.#checks
      // One at a time: two checks finishing together would otherwise start two runs at once.
      this.#checking = this.#checking.then(() => this.#afterDebounce(ticket)).catch(e => this.o.onError?.(e))
    }, this.o.debounceMs ?? 150)
  }

  async #afterDebounce(ticket: number): Promise<void> {
    // A later change is queued: that check reads the file as it is now.
    if (this.#isStopped() || ticket !== this.#checks) return
    const checked = await this.o.check()
    if (this.#isStopped() || ticket !== this.#checks) return
    if (!checked.ok) {
      checked.report()
      this.#changedWhileRunning = false
      if (this.#state === 'debouncing') this.#set('watching')
      return
    }
    if (this.#run) {
      this.#run.ac.abort()
      await this.#run.done
    }
    if (this.#isStopped()) return
    this.#changedWhileRunning = false
    this.#startRun(checked.value)
  }

  #startRun(inputs: T): void {
    const ac = new AbortController()
    this.#set('running')
    const done = this.o.run(inputs, ac.signal, ++this.#cycle)
      .catch(e => this.o.onError?.(e))
      .finally(() => {
        if (this.#run?.ac === ac) this.#run = undefined
        if (this.#state === 'running') this.#set(this.#changedWhileRunning ? 'debouncing' : 'watching')
      })
    this.#run = { ac, done }
  }

  /** Read through a method: the state may change while a check or a run is awaited. */
  #isStopped(): boolean { return this.#state === 'stopped' }

  #set(state: WatchState): void {
    this.#state = state
    this.o.onState?.(state)
  }

  #ensureState(expected: WatchState): void {
    if (this.#state !== expected) throw new Error(`internal error: watch loop is ${this.#state}, expected ${expected}`)
  }
}
