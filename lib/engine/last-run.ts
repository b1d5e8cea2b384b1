import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homeLayout } from '../layout/home.ts'
import { tempSibling } from '../util/atomic.ts'

/** How the last realize or verify of a home ended, for `list`. */
export interface LastRun {
  at: string
  ok: boolean
  /** verify: the checks that did not hold, of how many. */
  drift?: number
  checks?: number
}

export type RecordedCommand = 'realize' | 'verify'

/**
 * Records how a command ended in the tool's own folder of the home. Best effort: a home that cannot be written (a
 * read-only image for verify) loses only this line of `list`.
 */
export async function recordLastRun(home: string, command: RecordedCommand, run: Omit<LastRun, 'at'>, now = new Date()): Promise<void> {
  // Renamed into place but not synced: a no-op realize writes it every time, and a record lost to a crash only
  // empties one column of `list`.
  const file = homeLayout(home).lastRunFile(command)
  const tmp = tempSibling(file)
  await writeFile(tmp, `${JSON.stringify({ at: now.toISOString(), ...run })}\n`).then(() => rename(tmp, file)).catch(() => rm(tmp, { force: true }))
}

export async function readLastRun(home: string, command: RecordedCommand): Promise<LastRun | undefined> {
  try {
    const r = JSON.parse(await readFile(homeLayout(home).lastRunFile(command), 'utf8')) as LastRun
    return typeof r.at === 'string' && typeof r.ok === 'boolean' ? r : undefined
  } catch {
    return undefined
  }
}
