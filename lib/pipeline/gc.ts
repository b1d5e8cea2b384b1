// gc: what no spec in the versions folder (nor its resolved lock) and no recorded home uses is removed from the
// cache. It holds the gc lock, the lock of every recorded home (realize's own), and each mirror's (environment's)
// lock while it removes that mirror (environment), so a realize never sees an object vanish under it.
import { lstat, readdir, readFile, realpath, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { mirrorDir } from '../git/mirror-dir.ts'
import { recordedHomes, type HomeRecord } from '../engine/home-registry.ts'
import { homeLayout } from '../layout/home.ts'
import { cacheLayout } from '../layout/cache.ts'
import { urlKey } from '../fetch/url-key.ts'
import { pinnedResumeKey } from '../fetch/partial.ts'
import { acquireLock, type Release } from '../util/lock.ts'

export type GcKind = 'mirror' | 'model-blob' | 'partial-download' | 'compiled-lock' | 'shared-env'

/** One object gc removed (or would, with `dryRun`). */
export interface GcObject { path: string; kind: GcKind; bytes: number }

export interface GcOptions {
  versionsDir: string
  cacheRoot: string
  modelsDir: string
  dryRun: boolean
  /** Keep objects created or used in the last `olderThanDays` days. */
  olderThanDays?: number
  signal?: AbortSignal
  /** Told when a wait for a lock lasts (a realize running). */
  onWait?: (line: string) => void
  now?: number
}

export interface GcResult { removed: GcObject[]; bytes: number; dryRun: boolean; forgottenHomes: string[] }

/** What the cache's users reference: repository URLs, sha256 values, model URLs, file paths, shared environments' keys. */
interface References { repos: Set<string>; shas: Set<string>; urls: Set<string>; paths: Set<string>; envs: Set<string> }

export async function collectGarbage(o: GcOptions): Promise<GcResult> {
  const layout = cacheLayout(o.cacheRoot)
  const held: Release[] = []
  const lock = (path: string, what: string) => acquireLock(path, { signal: o.signal, onWait: o.onWait, waitingFor: what })
  try {
    held.push(await lock(layout.gcLock, 'another gc'))
    // Homes first, each under its lock, then what they and the specs reference; a realize that recorded its home
    // meanwhile (realize records it before it waits for its lock) is found on the next pass, until none is new.
    const locked = new Set<string>()
    const forgotten = new Set<string>()
    let refs: References | undefined
    for (;;) {
      const found = await recordedHomes(o.cacheRoot, { forget: !o.dryRun })
      for (const h of found.forgotten) forgotten.add(h)
      const fresh = found.homes.filter(h => !locked.has(h.home))
      if (!fresh.length && refs) break
      for (const h of fresh) {
        held.push(await lock(layout.homeLock(h.home), `the realize of ${h.home}`))
        locked.add(h.home)
      }
      refs = await references(o, found.homes)
    }
    const candidates = (await Promise.all([mirrors(o, refs), blobs(o, refs), partials(o, refs), compiledLocks(o, refs), sharedEnvs(o, refs)])).flat()
    const cutoff = o.olderThanDays === undefined ? Infinity : (o.now ?? Date.now()) - o.olderThanDays * 86_400_000
    const removed: GcObject[] = []
    for (const c of candidates) {
      if (c.lastUsed > cutoff) continue
      if (!o.dryRun) {
        if (c.kind === 'mirror' || c.kind === 'shared-env') {
          const release = c.kind === 'mirror'
            ? await lock(layout.mirrorLock(basename(c.path, '.git')), `the git mirror ${c.path}`)
            : await lock(layout.envLock(basename(c.path)), `the Python environment ${c.path}`)
          try { await rm(c.path, { recursive: true, force: true }) } finally { await release() }
        } else {
          for (const p of c.also ?? []) await rm(p, { force: true })
          await rm(c.path, { recursive: true, force: true })
        }
      }
      removed.push({ path: c.path, kind: c.kind, bytes: c.bytes })
    }
    return { removed, bytes: removed.reduce((n, r) => n + r.bytes, 0), dryRun: o.dryRun, forgottenHomes: [...forgotten] }
  } finally {
    for (const release of held.reverse()) await release()
  }
}

interface Candidate extends GcObject { lastUsed: number; also?: string[] }

/** Everything the specs (raw JSON: an invalid spec still keeps what it names), their resolved locks and the homes' markers reference. */
async function references(o: GcOptions, homes: readonly HomeRecord[]): Promise<References> {
  const refs: References = { repos: new Set(), shas: new Set(), urls: new Set(), paths: new Set(), envs: new Set() }
  const specFiles = (await readdir(o.versionsDir).catch(() => [] as string[])).filter(f => f.endsWith('.json')).map(f => join(o.versionsDir, f))
  const ids = specFiles.map(f => basename(f, '.json'))
  const files = [...specFiles, ...ids.map(id => cacheLayout(o.cacheRoot).resolvedLock(id)), ...homes.map(h => h.spec)]
  const envs = await realpath(cacheLayout(o.cacheRoot).envs).catch(() => resolve(cacheLayout(o.cacheRoot).envs))
  for (const h of homes) {
    // The environment a home's .venv links to, whatever its markers say (a realize may be between the two).
    const venv = await realpath(homeLayout(h.home).venv).catch(() => undefined)
    if (venv && dirname(venv) === envs) refs.envs.add(basename(venv))
    const dir = homeLayout(h.home).markersDir
    for (const m of await readdir(dir).catch(() => [] as string[])) files.push(join(dir, m))
  }
  for (const f of files) {
    const json = await readFile(f, 'utf8').then(t => JSON.parse(t) as unknown, () => undefined)
    if (json !== undefined) walk(json, refs)
  }
  // A model URL without a pinned sha256 is found through the store's index.
  for (const url of refs.urls) {
    const entry = await readFile(join(o.modelsDir, 'index', 'url', `${safeKey(url)}.json`), 'utf8').then(t => JSON.parse(t) as { sha256?: string }, () => undefined)
    if (typeof entry?.sha256 === 'string') refs.shas.add(entry.sha256)
  }
  return refs
}

const SHA256 = /^[0-9a-f]{64}$/

function walk(v: unknown, refs: References, key = ''): void {
  if (typeof v === 'string') {
    if (SHA256.test(v)) refs.shas.add(v)
    else if (key === 'repo') refs.repos.add(v)
    else if (key === 'url') refs.urls.add(v)
    else if (key === 'env') refs.envs.add(v)
    else if (key.endsWith('Path') || key.endsWith('_path')) refs.paths.add(v)
    return
  }
  if (Array.isArray(v)) { for (const x of v) walk(x, refs, key); return }
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, refs, k)
}

const safeKey = (url: string): string => { try { return urlKey(url) } catch { return '' } }

async function mirrors(o: GcOptions, refs: References): Promise<Candidate[]> {
  const keep = new Set<string>()
  for (const r of refs.repos) { try { keep.add(basename(mirrorDir(o.cacheRoot, r))) } catch { /* not a URL */ } }
  const dir = cacheLayout(o.cacheRoot).mirrors
  const out: Candidate[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.git') || keep.has(name)) continue
    out.push({ path: join(dir, name), kind: 'mirror', ...await usage(join(dir, name)) })
  }
  return out
}

async function blobs(o: GcOptions, refs: References): Promise<Candidate[]> {
  const root = join(o.modelsDir, 'sha256')
  const out: Candidate[] = []
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const sha of await readdir(join(root, prefix)).catch(() => [] as string[])) {
      if (refs.shas.has(sha)) continue
      out.push({ path: join(root, prefix, sha), kind: 'model-blob', ...await usage(join(root, prefix, sha)) })
    }
  }
  return out
}

/** Partial downloads of URLs no spec names any more (one a spec names may still be resumed). */
async function partials(o: GcOptions, refs: References): Promise<Candidate[]> {
  // A pinned model resumes by its sha256 (whatever URL it comes from next), another by its URL.
  const keep = new Set([...[...refs.urls].map(safeKey), ...[...refs.shas].map(pinnedResumeKey)])
  const dir = join(o.modelsDir, 'incomplete')
  const out: Candidate[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith('.json') || keep.has(name)) continue
    const sidecar = join(dir, `${name}.json`)
    const [data, meta] = [await usage(join(dir, name)), await usage(sidecar)]
    out.push({ path: join(dir, name), kind: 'partial-download', bytes: data.bytes + meta.bytes, lastUsed: Math.max(data.lastUsed, meta.lastUsed), also: [sidecar] })
  }
  return out
}

/** Compiled locks no recorded home's uv-compile points at. */
async function compiledLocks(o: GcOptions, refs: References): Promise<Candidate[]> {
  const dir = cacheLayout(o.cacheRoot).compiled
  const out: Candidate[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name)
    if (refs.paths.has(path)) continue
    out.push({ path, kind: 'compiled-lock', ...await usage(path) })
  }
  return out
}

/** Shared Python environments no recorded home links to or records (a new home makes its own again). */
async function sharedEnvs(o: GcOptions, refs: References): Promise<Candidate[]> {
  const dir = cacheLayout(o.cacheRoot).envs
  const out: Candidate[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (refs.envs.has(name)) continue
    out.push({ path: join(dir, name), kind: 'shared-env', ...await usage(join(dir, name)) })
  }
  return out
}

/**
 * Bytes on disk under `path` (files counted once per inode) and when it was last created or changed. Model blobs
 * keep a fixed mtime (their seal), so ctime, which a new hard link also moves, counts too.
 */
async function usage(path: string, seen = new Set<number>()): Promise<{ bytes: number; lastUsed: number }> {
  const st = await lstat(path).catch(() => undefined)
  if (!st) return { bytes: 0, lastUsed: 0 }
  let bytes = 0
  let lastUsed = Math.max(st.mtimeMs, st.ctimeMs)
  if (st.isDirectory()) {
    for (const name of await readdir(path).catch(() => [] as string[])) {
      const u = await usage(join(path, name), seen)
      bytes += u.bytes
      lastUsed = Math.max(lastUsed, u.lastUsed)
    }
  } else if (!seen.has(st.ino)) {
    seen.add(st.ino)
    bytes = st.size
  }
  return { bytes, lastUsed }
}
