import { mkdir, readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { homeLayout } from '../layout/home.ts'
import { CACHE_SCHEMA, type FingerprintRecord } from '../graph/fingerprint.ts'
import type { Json } from '../graph/plugin.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { redactJson } from '../util/redact.ts'

/** A skip marker: written only after a task succeeded, removed before it runs again. */
export interface Marker {
  id: string
  fingerprint: string
  record: FingerprintRecord
  /** What the task made, for the cheap check that it still stands (a HEAD, a link target...). */
  outputs: Json
  /** For a kind with early cutoff: the hash its dependents recorded of these outputs (`out:…`). */
  output_hash?: string
  at: string
}

/**
 * Skip markers live with the realized home (`<home>/.comfy-vc/markers/`), so deleting the home
 * re-runs everything. One file per task, named by the hex of its id (ids contain ":" and "/").
 */
export class MarkerStore {
  constructor(readonly dir: string) {}

  static forHome(home: string): MarkerStore {
    return new MarkerStore(homeLayout(home).markersDir)
  }

  #file(id: string): string {
    return join(this.dir, `${Buffer.from(id).toString('hex')}.json`)
  }

  /** The marker of a task, or undefined when absent, unreadable or from another cache schema. */
  async read(id: string): Promise<Marker | undefined> {
    try {
      const m = JSON.parse(await readFile(this.#file(id), 'utf8')) as Marker
      return m.id === id && m.record?.cache_schema === CACHE_SCHEMA ? m : undefined
    } catch {
      return undefined
    }
  }

  async write(marker: Omit<Marker, 'at'>): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    // Credentials must never reach a marker: inputs are stored redacted (the hash was taken before).
    const text = JSON.stringify(redactJson({ ...marker, at: new Date().toISOString() }), null, 2)
    await writeFileAtomic(this.#file(marker.id), `${text}\n`)
  }

  async remove(id: string): Promise<void> {
    await rm(this.#file(id), { force: true })
  }

  /** Every stored marker (for pruning tasks that left the graph). */
  async all(): Promise<Marker[]> {
    let names: string[]
    try { names = await readdir(this.dir) } catch { return [] }
    // Read side by side: a no-op realize reads every marker here, before the executor reads them again.
    const read = await Promise.all(names.filter(n => n.endsWith('.json'))
      .map(name => this.read(Buffer.from(name.slice(0, -5), 'hex').toString())))
    return read.filter((m): m is Marker => m !== undefined)
  }
}
