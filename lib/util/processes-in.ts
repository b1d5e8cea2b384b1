import { readdir, readFile, readlink } from 'node:fs/promises'
import { join, sep } from 'node:path'

/** A running process found by {@link processesRunningFrom}. */
export interface FoundProcess { pid: number; command: string }

/**
 * Processes whose executable lies under `dir` (a home's `.venv`: the ComfyUI that run-ui, run-handler and serve
 * start with the environment's python). Read from /proc, so it spawns nothing; where there is no /proc (macOS) it
 * finds nothing, and the caller's other checks stand alone. Processes of other users are not readable and not listed.
 */
export async function processesRunningFrom(dir: string): Promise<FoundProcess[]> {
  const pids = await readdir('/proc').catch(() => [] as string[])
  const inside = (p: string) => p === dir || p.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`)
  const out: FoundProcess[] = []
  for (const name of pids) {
    if (!/^\d+$/.test(name)) continue
    const argv = await readFile(join('/proc', name, 'cmdline'), 'utf8').then(t => t.split('\0').filter(Boolean), () => [] as string[])
    // A venv's python is a symlink to the base interpreter: /proc/<pid>/exe names the base, argv[0] the venv's.
    const exe = await readlink(join('/proc', name, 'exe')).catch(() => '')
    if (inside(argv[0] ?? '') || inside(exe)) out.push({ pid: Number(name), command: argv.join(' ').slice(0, 200) })
  }
  return out
}
