import { loadSpecFile } from '../lib/spec/load.ts'
import { isRegistryNode, nodeName } from '../lib/spec/names.ts'
import type { Spec } from '../lib/spec/schema.ts'
import { validateSpec } from '../lib/pipeline/validate.ts'
import { followingLatest, writeResolvedLock } from '../lib/pipeline/resolved-lock.ts'
import { closest } from '../lib/util/closest.ts'
import { loadForEdit } from './_spec-edit.ts'
import { bool, printJson, refuse, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'

/** A ref that is a commit (full or short): pinned in intent, never moved. */
const COMMIT_REF = /^[0-9a-f]{4,40}$/i

const command: Command = {
  name: 'update',
  summary: 'move nodes that follow a branch to its newest commit',
  locations: true,
  allowPositionals: Infinity,
  options: { offline: { type: 'boolean' } },
  help: `Usage: npx tsx tasks update <id> [NODE...] [--offline]

Moves the named custom nodes (by folder name; "comfyui" for the core), or without names the core
and every node, to the newest commit of the branch they follow, and writes the new commits into
versions/<id>.json (its formatting and key order kept) and the resolved lock, as \`validate --update\`
does for the whole spec. A node follows a branch when its "ref" is a branch or tag name, or when it
has no ref (the repository's default branch); a node whose ref is a commit stays. A registry node
whose version validate chose (none was written) moves to the latest version; one with a version
you wrote stays. Then \`realize <id>\` checks the new commits out.

  --offline   resolve against the git mirrors only (what was last fetched)`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const target = await loadForEdit(args, io, id, json, { offline: bool(args, 'offline') || undefined })
    if (typeof target === 'number') return target
    const { config, loaded, shown: file } = target
    const spec = loaded.spec
    const names = args.positionals.slice(1)
    const known = ['comfyui', ...spec.custom_nodes.map(n => nodeName(n))]
    const unknown = names.filter(n => !known.includes(n))
    if (unknown.length) {
      return refuse(io, json, unknown.map(n => {
        const near = closest(n, known)
        return `update ${n}: ${file} has no node of that name${near ? `; did you mean "${near}"?` : ''} (nodes: ${known.slice(1).join(', ') || 'none'}; "comfyui" is the core)`
      }), { version: id })
    }
    const chosen = (name: string) => !names.length || names.includes(name)
    const follows = await followingLatest(config.cacheRoot, id)
    // validate's pipeline moves what has no pin: the chosen entries lose theirs in the copy it is given.
    const copy: Spec = structuredClone(spec)
    const stays: string[] = []
    const moving: string[] = []
    const movable = (label: string, ref: string | undefined) => {
      if (ref && COMMIT_REF.test(ref)) { stays.push(`${label}: stays at its ref ${ref}, a commit (edit the ref to move it)`); return false }
      moving.push(label)
      return true
    }
    if (chosen('comfyui') && movable('comfyui', copy.comfyui.ref)) delete copy.comfyui.commit
    copy.custom_nodes.forEach(n => {
      const name = nodeName(n)
      if (!chosen(name)) return
      if (!isRegistryNode(n)) { if (movable(name, n.ref)) delete n.commit; return }
      if (n.version && follows.get(name) !== n.version) { stays.push(`${name}: stays at version ${n.version}, which the spec names`); return }
      moving.push(name)
      delete n.version
      delete n.sha256
    })
    for (const s of stays) io.err(s)
    if (!moving.length) {
      io.err(`nothing to update in ${file}`)
      if (json) printJson(io, { ok: true, version: id, file: loaded.file, moved: [], current: [], stays })
      return EXIT.ok
    }
    const r = await validateSpec({ loaded: { ...loaded, spec: copy }, config, update: false, signal: io.signal, env: io.env, onWait: line => io.err(line) })
    if (r.diagnostics.length) return reportDiagnostics(io, r.diagnostics, json, { version: id })
    for (const f of r.failures) io.err(f)
    const after = await loadSpecFile(loaded.file)
    const now = after.ok ? after.value.spec : spec
    if (!r.written) await writeResolvedLock(config.cacheRoot, spec, new Set([...follows].filter(([n, v]) => spec.custom_nodes.some(x => nodeName(x) === n && isRegistryNode(x) && x.version === v)).map(([n]) => n)))
    const pinOf = (s: Spec, name: string): string | undefined => {
      if (name === 'comfyui') return s.comfyui.commit
      const n = s.custom_nodes.find(x => nodeName(x) === name)
      return n && (isRegistryNode(n) ? n.version : n.commit)
    }
    const moved: { name: string; from: string | null; to: string }[] = []
    const current: string[] = []
    for (const name of moving) {
      // A failure is printed above, by validate's own words; its old pin stays.
      if (r.failures.some(f => f.startsWith(`${name === 'comfyui' ? 'ComfyUI core' : name}:`))) continue
      const before = pinOf(spec, name)
      const to = pinOf(now, name)
      if (to === undefined) continue
      if (to === before) current.push(name)
      else moved.push({ name, from: before ?? null, to })
    }
    const short = (v: string) => (/^[0-9a-f]{40}$/.test(v) ? v.slice(0, 10) : v)
    for (const m of moved) io.err(`${m.name}: ${m.from ? short(m.from) : 'unpinned'} -> ${short(m.to)}`)
    if (current.length) io.err(`already at the newest: ${current.join(', ')}`)
    io.err(moved.length ? `wrote ${moved.length} new pin(s) to ${file}; next: npx tsx tasks realize ${id}` : `${file} is unchanged`)
    const ok = !r.failures.length && !io.signal.aborted
    if (json) printJson(io, { ok, version: id, file: loaded.file, moved, current, stays, ...(r.failures.length ? { errors: r.failures } : {}) })
    return io.signal.aborted ? EXIT.interrupted : ok ? EXIT.ok : EXIT.failed
  },
}
export default command
