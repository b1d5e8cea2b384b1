import { readFile } from 'node:fs/promises'
import { installedPackages } from './installed.ts'
import { leading, parseLockPins } from './lock-file.ts'
import { normalizeName } from './pep440.ts'

/** One row of the environment's deep check: a pinned distribution as installed (`python:<package>`). */
export interface EnvCheck { id: string; status: 'ok' | 'drift' | 'missing'; detail?: string }

/**
 * The environment against its lock, read from `*.dist-info` folders (no Python process): every pinned
 * distribution installed at its pinned version. Pins that are not `name==version` (URLs) are checked for presence.
 */
export async function verifyEnvironment(venvDir: string, lockPath: string): Promise<EnvCheck[]> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined)
  if (text === undefined) return [{ id: 'python:(lock)', status: 'missing', detail: `the lock ${lockPath} is gone` }]
  const installed = installedPackages(venvDir)
  return parseLockPins(text).map(pin => {
    const name = normalizeName(leading(pin))
    const wanted = /==\s*([^\s;,]+)/.exec(pin)?.[1]
    const have = installed.get(name)
    const id = `python:${name}`
    if (have === undefined) return { id, status: 'missing', detail: `${pin} is not installed` }
    if (wanted && normalizeVersion(have) !== normalizeVersion(wanted)) return { id, status: 'drift', detail: `${have} is installed, the lock pins ${wanted}` }
    return { id, status: 'ok' }
  })
}

const normalizeVersion = (v: string) => v.trim().toLowerCase().replace(/^v/, '')
