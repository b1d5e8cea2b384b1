/**
 * ComfyUI processes (a python running main.py) on this machine, read from /proc (Linux): what a user would look
 * for to know whether a ComfyUI was left running.
 *
 *   comfyProcesses().filter(p => p.cwd === home)   // the ones started in a home
 *   comfyPids(port)                                // the ones serving a port
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

export interface ComfyProcess { pid: number; port: string | undefined; cwd: string }

export function comfyProcesses(): ComfyProcess[] {
  const found: ComfyProcess[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      if (!argv.includes('main.py')) continue
      const i = argv.indexOf('--port')
      found.push({ pid: Number(name), port: i >= 0 ? argv[i + 1] : undefined, cwd: readlinkSync(`/proc/${name}/cwd`) })
    } catch { /* gone meanwhile, or not ours to read */ }
  }
  return found
}

/** Pids of the ComfyUI processes serving `port`. */
export const comfyPids = (port: number | string): number[] => comfyProcesses().filter(p => p.port === String(port)).map(p => p.pid)
