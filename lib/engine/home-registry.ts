import { readdir, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { cacheLayout } from '../layout/cache.ts'
import { writeFileAtomic } from '../util/atomic.ts'

/** What the cache knows of a home realized from it: gc keeps what the home and the spec it came from use. */
export interface HomeRecord {
  home: string
  version: string
  /** The spec it was realized from: it may live outside the versions folder gc is given. */
  spec: string
  at: string
}

/**
 * Records `home` in the cache. Called by realize before it waits for the home's lock, so a gc that starts later
 * knows the home, takes its lock, and keeps what its spec names.
 */
export async function registerHome(cacheRoot: string, home: string, version: string, spec: string): Promise<void> {
  const record: HomeRecord = { home: resolve(home), version, spec: resolve(spec), at: new Date().toISOString() }
  const file = cacheLayout(cacheRoot).homeRecord(home)
  // The common case, a home realized again for the same version and spec, writes (and syncs) nothing.
  const known = await readFile(file, 'utf8').then(t => JSON.parse(t) as HomeRecord, () => undefined)
  if (known && known.home === record.home && known.version === version && known.spec === record.spec) return
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`)
}

/** Every recorded home; those whose folder is gone are forgotten here (`forgotten` names them). */
export async function recordedHomes(cacheRoot: string, o: { forget: boolean }): Promise<{ homes: HomeRecord[]; forgotten: string[] }> {
  const dir = cacheLayout(cacheRoot).homes
  const names = await readdir(dir).catch(() => [] as string[])
  const homes: HomeRecord[] = []
  const forgotten: string[] = []
  for (const name of names.filter(n => n.endsWith('.json')).sort()) {
    const r = await readFile(join(dir, name), 'utf8').then(t => JSON.parse(t) as HomeRecord, () => undefined)
    if (r && typeof r.home === 'string' && existsSync(r.home)) { homes.push(r); continue }
    forgotten.push(r?.home ?? name)
    if (o.forget) await rm(join(dir, name), { force: true })
  }
  return { homes, forgotten }
}
