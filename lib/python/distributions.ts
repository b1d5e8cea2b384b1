import { readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { normalizeName } from './pep440.ts'
import { sitePackagesDirs } from './installed.ts'

/** One installed distribution, found from its `*.dist-info` folder (no process). */
export interface Distribution {
  /** PEP 503 normalized name. */
  name: string
  /** As installed, local label included (`2.5.0+cu124`). */
  version: string
  /** Its `*.dist-info` folder: METADATA is read from there for the resolver's stand-in wheel. */
  infoDir: string
}

/** The distributions in these site-packages folders; the first folder that has a name wins (as sys.path does). */
export function listDistributions(dirs: readonly string[]): Distribution[] {
  const out = new Map<string, Distribution>()
  for (const dir of dirs) {
    let entries: string[]
    try { entries = readdirSync(dir) } catch { continue }
    for (const e of entries.sort()) {
      if (!e.endsWith('.dist-info')) continue
      const infoDir = join(dir, e)
      // The folder's name says both (wheels write it so); METADATA is read only when it does not: a no-op realize lists them.
      const meta = fromFolderName(e) ?? readNameVersion(infoDir)
      if (meta && !out.has(normalizeName(meta.name))) out.set(normalizeName(meta.name), { name: normalizeName(meta.name), version: meta.version, infoDir })
    }
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * The base interpreter's package folders, for an environment made with system site packages: from pyvenv.cfg's
 * `home` (the base's bin folder), its prefix's `lib/pythonX.Y/site-packages`, and the Debian and Ubuntu
 * `dist-packages` folders an image's system Python (and its pip) use.
 */
export function baseSitePackagesDirs(home: string | undefined, version: string | undefined): string[] {
  if (!home) return []
  const prefix = dirname(home)
  const dirs = sitePackagesDirs(prefix)
  if (version) {
    dirs.push(join(prefix, 'local', 'lib', `python${version}`, 'dist-packages'), join(prefix, 'lib', `python${version}`, 'dist-packages'))
    if (basename(prefix) === 'usr' || prefix === '/usr') dirs.push(join(prefix, 'lib', 'python3', 'dist-packages'))
  }
  return [...new Set(dirs)]
}

// --- internal ---

function readNameVersion(infoDir: string): { name: string; version: string } | undefined {
  let text: string
  try { text = readFileSync(join(infoDir, 'METADATA'), 'utf8') } catch { return undefined }
  const head = text.split(/\r?\n\r?\n/)[0] ?? ''
  const name = /^Name:\s*(.+?)\s*$/m.exec(head)?.[1]
  const version = /^Version:\s*(.+?)\s*$/m.exec(head)?.[1]
  return name && version ? { name, version } : undefined
}

function fromFolderName(e: string): { name: string; version: string } | undefined {
  const m = /^(.+?)-([^-]+?)\.dist-info$/.exec(e)
  return m ? { name: m[1]!, version: m[2]! } : undefined
}
