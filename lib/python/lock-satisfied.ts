import { readFile } from 'node:fs/promises'
import { err, ok, type Result } from '../result.ts'
import { parseLockPins } from './lock-file.ts'
import { verifyEnvironment, type EnvExpectations } from './verify-env.ts'

/**
 * Whether the environment already holds exactly the lock's pins, read from its `*.dist-info` folders (no process):
 * every pin installed at its version (a kept build where and as it was kept), and nothing the tool installed that the
 * lock no longer has. A pin that is not `name==version` (a URL, a VCS commit) cannot be told from the folder names,
 * so it is never taken as satisfied: the installer decides it. Ok with the number of pins, or why not.
 */
export async function lockSatisfied(venvDir: string, lockPath: string, expect: EnvExpectations = {}): Promise<Result<number, string>> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined)
  if (text === undefined) return err(`the lock ${lockPath} is gone`)
  const pins = parseLockPins(text)
  const unversioned = pins.find(p => !/^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*==\s*[^\s;,]+\s*(;.*)?$/.test(p))
  if (unversioned) return err(`${unversioned} is not a name==version pin`)
  const rows = await verifyEnvironment(venvDir, lockPath, expect)
  const off = rows.find(r => r.status !== 'ok')
  return off ? err(`${off.id.replace(/^python:/, '')}: ${off.status}${off.detail ? ` (${off.detail})` : ''}`) : ok(pins.length)
}
