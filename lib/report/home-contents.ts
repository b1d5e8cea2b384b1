import { lstat, readdir, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { readHead } from '../git/read-head.ts'
import { homeLayout } from '../layout/home.ts'
import { isRegistryNode, nodeName } from '../spec/names.ts'
import type { Spec } from '../spec/schema.ts'
import { formatBytes } from '../fetch/progress.ts'

/** One line of `show`: what the spec names and what the home holds for it. */
export interface ShowEntry {
  kind: 'core' | 'node' | 'model' | 'python'
  name: string
  /** What the spec says (ref and commit, version, sha256 and size); null for what only the home has. */
  spec: string | null
  /** What is there; null when nothing is. */
  home: string | null
  /** ok: as the spec says; differs: there, but not as pinned; missing: not there (not realized yet); extra: not in the spec (kept). */
  status: 'ok' | 'differs' | 'missing' | 'extra'
}

const short = (sha: string) => sha.slice(0, 10)

/** Reads the home (files only, no process) beside the spec: `show`'s table, spec entries first, then what only the home has. */
export async function homeContents(spec: Spec, home: string): Promise<ShowEntry[]> {
  const layout = homeLayout(home)
  const out: ShowEntry[] = []
  const pin = (ref: string | undefined, commit: string | undefined) => `${ref ?? 'default branch'}${commit ? ` @ ${short(commit)}` : ' (unpinned)'}`
  const checkout = (dir: string, commit: string | undefined): Pick<ShowEntry, 'home' | 'status'> => {
    if (!existsSync(dir)) return { home: null, status: 'missing' }
    const head = readHead(dir)
    if (!head) return { home: 'a folder, not at a detached commit', status: 'differs' }
    return { home: `at ${short(head)}`, status: commit && head !== commit ? 'differs' : 'ok' }
  }
  out.push({ kind: 'core', name: 'comfyui', spec: pin(spec.comfyui.ref, spec.comfyui.commit), ...checkout(home, spec.comfyui.commit) })
  for (const n of spec.custom_nodes) {
    const name = nodeName(n)
    const dir = layout.nodeDir(name, n.enabled)
    const where = n.enabled ? '' : ' (disabled)'
    const specText = isRegistryNode(n) ? `cnr:${n.registry}@${n.version ?? 'latest'}${where}` : `${pin(n.ref, n.commit)}${where}`
    if (!existsSync(dir) && existsSync(layout.nodeDir(name, !n.enabled))) {
      out.push({ kind: 'node', name, spec: specText, home: n.enabled ? 'disabled (custom_nodes/.disabled/)' : 'enabled (custom_nodes/)', status: 'differs' })
    } else if (isRegistryNode(n)) {
      out.push({ kind: 'node', name, spec: specText, ...(existsSync(dir) ? { home: 'unpacked', status: 'ok' as const } : { home: null, status: 'missing' as const }) })
    } else {
      out.push({ kind: 'node', name, spec: specText, ...checkout(dir, n.commit) })
    }
  }
  for (const m of spec.models) {
    const specText = `${m.sha256 ? `sha256 ${short(m.sha256)}` : 'no sha256'}${m.size !== undefined ? `, ${formatBytes(m.size)}` : ''}`
    const file = join(layout.models, m.path)
    const link = await lstat(file).catch(() => undefined)
    const target = await stat(file).catch(() => undefined)
    if (!link) out.push({ kind: 'model', name: m.path, spec: specText, home: null, status: 'missing' })
    else if (!target) out.push({ kind: 'model', name: m.path, spec: specText, home: 'a link to a file that is gone', status: 'differs' })
    else {
      const how = `${link.isSymbolicLink() ? 'linked' : 'a file'}, ${formatBytes(target.size)}`
      out.push({ kind: 'model', name: m.path, spec: specText, home: how, status: m.size !== undefined && m.size !== target.size ? 'differs' : 'ok' })
    }
  }
  out.push({ kind: 'python', name: '.venv', spec: spec.python?.version ? `python ${spec.python.version}` : 'python', ...(existsSync(layout.venv) ? { home: 'present', status: 'ok' as const } : { home: null, status: 'missing' as const }) })

  const named = new Set(spec.custom_nodes.map(n => nodeName(n)))
  for (const place of ['', '.disabled'] as const) {
    for (const entry of await folders(join(layout.customNodes, place))) {
      if (!named.has(entry)) out.push({ kind: 'node', name: place ? `.disabled/${entry}` : entry, spec: null, home: 'a folder in custom_nodes/', status: 'extra' })
    }
  }
  const paths = new Set(spec.models.map(m => m.path))
  for (const rel of await modelFiles(layout.models)) {
    if (!paths.has(rel)) out.push({ kind: 'model', name: rel, spec: null, home: 'a file in models/', status: 'extra' })
  }
  return out
}

// --- internal ---

/** Folders directly in `dir`, but hidden ones and Python's caches. */
async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isDirectory() && !e.name.startsWith('.') && e.name !== '__pycache__').map(e => e.name).sort()
}

/** Model files under models/ (three folders deep at most), without the core's `put_*_here` placeholders. */
async function modelFiles(root: string, rel = '', depth = 0): Promise<string[]> {
  const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])
  const out: string[] = []
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name.startsWith('put_')) continue
    const path = rel ? `${rel}/${e.name}` : e.name
    if (e.isDirectory()) { if (depth < 3) out.push(...await modelFiles(root, path, depth + 1)) } else out.push(path)
  }
  return out
}
