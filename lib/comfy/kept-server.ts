import type { Result } from '../result.ts'
import type { ComfyServer, LaunchProblem } from './launch.ts'

/** Starts ComfyUI; `signal` aborts the start (and stops the server later). */
export type StartComfy = (signal: AbortSignal) => Promise<Result<ComfyServer, LaunchProblem>>

/**
 * One ComfyUI kept running for many jobs (serve): started once, restarted only when it dies, and then at once, so
 * the next job finds it warm again. A restart that fails is retried by the next job that asks, not in a loop.
 */
export class KeptComfy {
  #current: Promise<Result<ComfyServer, LaunchProblem>> | undefined
  #stopping = false
  readonly #stop = new AbortController()

  constructor(private readonly start: StartComfy, private readonly onLog: (line: string) => void) {}

  /** The running server, started (or restarted) when there is none. */
  server(): Promise<Result<ComfyServer, LaunchProblem>> {
    this.#current ??= this.#launch()
    return this.#current
  }

  /** Stops the server for good: no restart after it. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#stop.abort()
    const current = await this.#current
    if (current?.ok) await current.value.stop()
  }

  #launch(): Promise<Result<ComfyServer, LaunchProblem>> {
    const started = this.start(this.#stop.signal)
    void started.then(r => {
      if (!r.ok) { this.#current = undefined; return }
      void r.value.exited.then(exit => {
        if (this.#stopping) return
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
        this.onLog(`ComfyUI ${how}; its last lines:\n${r.value.logTail(10).map(l => `  ${l}`).join('\n')}\nstarting it again`)
        this.#current = this.#launch()
      })
    })
    return started
  }
}
