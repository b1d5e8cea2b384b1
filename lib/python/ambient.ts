import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { redact } from '../util/redact.ts'
import type { ChildEnv } from '../util/exec.ts'

/** Ambient index settings and the spec field that takes their place. */
const VARIABLES: Record<string, string> = {
  PIP_INDEX_URL: 'python.index_url', UV_INDEX_URL: 'python.index_url', UV_DEFAULT_INDEX: 'python.index_url',
  PIP_EXTRA_INDEX_URL: 'python.extra_index_urls', UV_EXTRA_INDEX_URL: 'python.extra_index_urls', UV_INDEX: 'python.extra_index_urls',
  PIP_FIND_LINKS: 'python.find_links', UV_FIND_LINKS: 'python.find_links',
}

/**
 * One line for each index setting of the user's environment or pip.conf that the resolver and installer do not
 * use, naming the variable (or file) and the spec field to use instead (redacted). The spec alone decides the
 * indexes: the compiled lock is cached by the spec, and a lock resolved from a mirror one shell happens to set
 * must not be served to a run without it (see docs/tech.md, "Ambient index settings").
 */
export function ambientIndexNotes(env: ChildEnv): string[] {
  const notes: string[] = []
  for (const [name, field] of Object.entries(VARIABLES)) {
    const v = env[name]
    if (v) notes.push(redact(`note: ${name}=${v} is set in the environment and not used: the spec decides the indexes; put it in ${field}`))
  }
  for (const file of pipConfFiles(env)) {
    let text: string
    try { text = readFileSync(file, 'utf8') } catch { continue }
    for (const m of text.matchAll(/^\s*(index-url|extra-index-url|find-links)\s*[=:]\s*(.+)$/gim)) {
      const key = m[1]!.toLowerCase()
      const field = key === 'index-url' ? 'python.index_url' : key === 'extra-index-url' ? 'python.extra_index_urls' : 'python.find_links'
      notes.push(redact(`note: ${file} sets ${key} = ${m[2]!.trim()}, which is not used: the spec decides the indexes; put it in ${field}`))
    }
  }
  return notes
}

// --- internal ---

/** pip's configuration files (pip's "site", "user" and "global" ones), as `pip config debug` lists them on Linux. */
function pipConfFiles(env: ChildEnv): string[] {
  const files = ['/etc/pip.conf', '/etc/xdg/pip/pip.conf']
  if (env.PIP_CONFIG_FILE && env.PIP_CONFIG_FILE !== '/dev/null') files.push(env.PIP_CONFIG_FILE)
  if (env.HOME) files.push(join(env.HOME, '.pip', 'pip.conf'))
  const xdg = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined)
  if (xdg) files.push(join(xdg, 'pip', 'pip.conf'))
  return [...new Set(files)]
}
