/**
 * Counts git processes: a folder with an executable `git` that logs its arguments and then runs
 * the real git (found on PATH when the shim is made). Put `binDir` first in PATH:
 *
 *   const shim = makeGitShim(tmp)
 *   process.env.PATH = `${shim.binDir}:${process.env.PATH}`   // or pass it in a child's env
 *   … shim.count() …           // git processes started since creation or the last reset()
 *   shim.count('fetch')        // only those with the argument `fetch`
 *   shim.lines()               // each invocation's arguments, space-joined
 *
 * `hangOn: 'fetch'` makes every invocation with that argument sleep instead of running git (for
 * killing a process in the middle of a fetch); the log line is written first, so a test can wait for it.
 * `stopDelayMs` makes such a hanging git take that long to exit once signalled.
 * `recordEnv: 'NAME'` starts each log line with `NAME=<its value in git's environment> ` (empty when unset).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

export interface GitShim {
  binDir: string
  logFile: string
  /** The real git the shim runs. */
  realGit: string
  count(arg?: string): number
  lines(): string[]
  reset(): void
}

export function makeGitShim(dir: string, opts: { hangOn?: string; stopDelayMs?: number; recordEnv?: string } = {}): GitShim {
  const binDir = join(dir, 'git-shim-bin')
  const logFile = join(dir, 'git-shim.log')
  const realGit = findOnPath('git', binDir)
  mkdirSync(binDir, { recursive: true })
  // With stopDelayMs, a hanging git takes that long to die when signalled (as a git finishing a pack write would).
  const wait = opts.stopDelayMs
    ? `trap 'sleep ${opts.stopDelayMs / 1000}; kill $! 2>/dev/null; exit 143' TERM INT; sleep 600 & wait; exit 0`
    : 'exec sleep 600'
  const hang = opts.hangOn
    ? `for a in "$@"; do if [ "$a" = ${shellQuote(opts.hangOn)} ]; then ${wait}; fi; done\n`
    : ''
  if (opts.recordEnv && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.recordEnv)) throw new Error(`makeGitShim: not a variable name: ${opts.recordEnv}`)
  const record = opts.recordEnv ? `printf '%s ' "${opts.recordEnv}=\${${opts.recordEnv}-}" >> ${shellQuote(logFile)}\n` : ''
  writeFileSync(join(binDir, 'git'),
    `#!/bin/sh\n${record}printf '%s\\n' "$*" >> ${shellQuote(logFile)}\n${hang}exec ${shellQuote(realGit)} "$@"\n`, { mode: 0o755 })
  writeFileSync(logFile, '')
  const lines = () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
  return {
    binDir, logFile, realGit, lines,
    count: arg => arg === undefined ? lines().length : lines().filter(l => l.split(' ').includes(arg)).length,
    reset: () => writeFileSync(logFile, ''),
  }
}

function findOnPath(name: string, skip: string): string {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d || d === skip || d.endsWith('git-shim-bin')) continue
    const p = join(d, name)
    try { if (existsSync(p)) { accessSync(p, constants.X_OK); return p } } catch { /* not executable */ }
  }
  throw new Error(`makeGitShim: no ${name} on PATH`)
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
