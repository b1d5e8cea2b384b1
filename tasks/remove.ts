import { resolve } from 'node:path'
import { removeEntry } from '../lib/spec/edit-spec.ts'
import { nodeName } from '../lib/spec/names.ts'
import { closest } from '../lib/util/closest.ts'
import { bool, printJson, refuse, versionId, EXIT, UsageError, type Command } from './_cli.ts'
import { loadForEdit, writeEdited } from './_spec-edit.ts'

const command: Command = {
  name: 'remove',
  summary: 'remove a custom node or a model from a spec',
  locations: true,
  allowPositionals: 2,
  options: {},
  help: `Usage: npx tsx tasks remove <id> NODE-NAME | MODEL-PATH

Removes one entry from versions/<id>.json: a custom node by its folder name (as \`show <id>\` lists
it), or a model by its path relative to models/. The rest of the file keeps its formatting and key
order. The home is not touched now: the next \`realize <id>\` removes the node's checkout or the
model's link, as it removes everything it created that the spec no longer names.`,
  async run(args, io) {
    const id = versionId(args)
    const what = args.positionals[1]
    if (!what) throw new UsageError('missing what to remove: a node name or a model path')
    const json = bool(args, 'json')
    const target = await loadForEdit(args, io, id, json)
    if (typeof target === 'number') return target
    const { spec } = target.loaded
    const wanted = what.trim().replace(/^models\//, '')
    const node = spec.custom_nodes.findIndex(n => nodeName(n) === what.trim())
    const model = node >= 0 ? -1 : spec.models.findIndex(m => m.path === wanted)
    if (node < 0 && model < 0) {
      const names = [...spec.custom_nodes.map(n => nodeName(n)), ...spec.models.map(m => m.path)]
      const near = closest(what, names)
      const known = names.length ? `it names ${names.map(n => `"${n}"`).join(', ')}` : 'it names no node and no model'
      return refuse(io, json, `remove ${what}: ${target.shown} has no node or model of that name${near ? `; did you mean "${near}"?` : ''} (${known})`, { version: id })
    }
    const [list, index] = node >= 0 ? ['custom_nodes', node] as const : ['models', model] as const
    const failed = await writeEdited(io, json, target, removeEntry(target.loaded.text, list, index))
    if (failed !== undefined) return failed
    const label = node >= 0 ? `node ${what.trim()}` : `model ${wanted}`
    io.err(`removed ${label} (${list}[${index}]) from ${target.shown}; the next \`realize ${id}\` removes it from the home`)
    if (json) printJson(io, { ok: true, version: id, file: resolve(target.loaded.file), removed: { path: `${list}[${index}]`, ...(node >= 0 ? { name: what.trim() } : { model: wanted }) } })
    return EXIT.ok
  },
}
export default command
