/**
 * Follows a long-running CLI child (run-ui, --watch) as its output arrives:
 *
 *   const run = follow(w.spawn(['run-ui', 'demo'], { detached: true }))
 *   const m = await run.waitFor('stdout', /ready at (\S+)/)
 *   const line = await run.until('a second cycle', () => lines(run.stdout())[1])
 *   killLeftovers()                       // in after.each: whatever a failed test left running
 *
 * The child must run in its own process group (`detached`), so leftovers die with their children.
 */
import type { ChildProcess } from 'node:child_process'

export interface Running {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once `test` gives a value for the output so far; rejects when the process ends first. */
  until<T>(what: string, test: () => T | undefined | false | null): Promise<T>
  /** Resolves with the first match of `re` in the stream. */
  waitFor(stream: 'stdout' | 'stderr', re: RegExp): Promise<RegExpMatchArray>
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const started = new Set<ChildProcess>()

/** Kills what a failed test left running: the CLI's whole process group, ComfyUI included. */
export function killLeftovers(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
  }
  started.clear()
}

export function follow(child: ChildProcess): Running {
  started.add(child)
  const text = { stdout: '', stderr: '' }
  const waiters = new Set<() => void>()
  let ended = false
  for (const s of ['stdout', 'stderr'] as const) {
    child[s]!.setEncoding('utf8').on('data', (d: string) => { text[s] += d; for (const f of [...waiters]) f() })
  }
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => child.on('close', (code, signal) => {
    ended = true
    for (const f of [...waiters]) f()
    resolve({ code, signal })
  }))
  const until = <T>(what: string, test: () => T | undefined | false | null) => new Promise<T>((resolve, reject) => {
    // A guard against hanging, with the output so far to say why (not a timing assertion).
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${what} after 40 s\nstdout: ${text.stdout}\nstderr: ${text.stderr}`)) }, 40_000)
    const check = () => {
      const v = test()
      if (v) { waiters.delete(check); clearTimeout(timer); resolve(v); return }
      if (ended) { waiters.delete(check); clearTimeout(timer); reject(new Error(`exited before ${what}\nstdout: ${text.stdout}\nstderr: ${text.stderr}`)) }
    }
    waiters.add(check)
    check()
  })
  return {
    child, exit, until,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor: (stream, re) => until(`${re} on ${stream}`, () => re.exec(text[stream])),
  }
}
