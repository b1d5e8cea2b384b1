import { readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { normalizeName } from './pep440.ts'

/** The site-packages folders of an environment (posix `lib/pythonX.Y`, Windows `Lib`). */
export function sitePackagesDirs(venvDir: string): string[] {
  const found = new Map<string, string>()
  const add = (p: string) => { try { const r = realpathSync(p); if (!found.has(r)) found.set(r, p) } catch { /* absent */ } }
  for (const lib of ['lib', 'lib64']) {
    let entries: string[] = []
    try { entries = readdirSync(join(venvDir, lib)) } catch { continue }
    for (const e of entries.filter(e => /^python\d+\.\d+t?$/.test(e)).sort()) add(join(venvDir, lib, e, 'site-packages'))
  }
  add(join(venvDir, 'Lib', 'site-packages'))
  return [...found.values()]
}

/**
 * Installed distributions of an environment (normalized name → version), read from the names
 * of its `*.dist-info` / `*.egg-info` folders (METADATA when a name does not parse). No process
 * is started. An environment that does not exist has no packages.
 */
export function installedPackages(venvDir: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const dir of sitePackagesDirs(venvDir)) {
    let entries: string[]
    try { entries = readdirSync(dir) } catch { continue }
    for (const e of entries) {
      const m = /^(.+?)-([^-]+?)(?:-py\d[^-]*)?\.(dist-info|egg-info)$/.exec(e)
      if (!m && !/\.(dist-info|egg-info)$/.test(e)) continue
      const meta = m ? { name: m[1]!, version: m[2]! } : readMetadata(join(dir, e))
      if (meta && !out.has(normalizeName(meta.name))) out.set(normalizeName(meta.name), meta.version)
    }
  }
  return out
}

// --- internal ---

function readMetadata(infoDir: string): { name: string; version: string } | undefined {
  for (const file of ['METADATA', 'PKG-INFO']) {
    let text: string
    try { text = readFileSync(join(infoDir, file), 'utf8') } catch { continue }
    const head = text.split(/\r?\n\r?\n/)[0] ?? ''
    const name = /^Name:\s*(.+?)\s*$/m.exec(head)?.[1]
    const version = /^Version:\s*(.+?)\s*$/m.exec(head)?.[1]
    if (name && version) return { name, version }
  }
  return undefined
}
