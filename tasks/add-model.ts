import { resolve } from 'node:path'
import { appendEntry } from '../lib/spec/edit-spec.ts'
import { stripUrlCredentials } from '../lib/spec/importers.ts'
import { modelPageVerdict } from '../lib/spec/model-page-url.ts'
import { bool, printJson, refuse, str, versionId, EXIT, UsageError, type Command } from './_cli.ts'
import { loadForEdit, writeEdited } from './_spec-edit.ts'

const command: Command = {
  name: 'add-model',
  summary: 'add a model file to a spec',
  locations: true,
  allowPositionals: 3,
  options: { sha256: { type: 'string' } },
  help: `Usage: npx tsx tasks add-model <id> URL PATH [--sha256 HEX]

Adds a model to versions/<id>.json, at the end of "models"; the rest of the file keeps its
formatting and key order. Nothing is downloaded: \`validate <id>\` pins its size (and its sha256
where the host publishes it), \`realize <id>\` downloads it into the model store and links it.

  URL            https://, http:// or file:// (a Hugging Face or GitHub page link is rewritten to
                 the file's; credentials in it are removed: HF_TOKEN and CIVITAI_TOKEN supply them)
  PATH           where it goes, relative to ComfyUI's models/ folder (checkpoints/x.safetensors)
  --sha256 HEX   the file's sha256, when you know it (realize then checks the download against it)`,
  async run(args, io) {
    const id = versionId(args)
    const [, urlArg, pathArg] = args.positionals
    if (!urlArg || !pathArg) throw new UsageError(`missing ${urlArg ? 'PATH (relative to models/, e.g. checkpoints/x.safetensors)' : 'URL and PATH'}`)
    const json = bool(args, 'json')
    const warnings: string[] = []
    const clean = stripUrlCredentials(urlArg.trim())
    if (clean.removed) warnings.push('add-model: credentials removed from the URL (HF_TOKEN, CIVITAI_TOKEN or an auth rule in cache.config.ts supply them)')
    const verdict = modelPageVerdict(clean.url)
    if (verdict.kind === 'page') throw new UsageError(`add-model ${urlArg}: ${verdict.why}`)
    if (verdict.kind === 'rewritten') warnings.push(`add-model: read the page link as the file ${verdict.url}`)
    // People paste the path as ComfyUI shows it on disk; the spec's paths are inside models/ already.
    let path = pathArg.trim()
    if (path.startsWith('models/')) { path = path.slice('models/'.length); warnings.push(`add-model: PATH is relative to models/; took it as ${path}`) }
    const sha256 = str(args, 'sha256')?.toLowerCase()
    const target = await loadForEdit(args, io, id, json)
    if (typeof target === 'number') return target
    const { spec } = target.loaded
    const taken = spec.models.findIndex(m => m.path === path)
    if (taken >= 0) {
      return refuse(io, json, `add-model ${path}: ${target.shown} already has a model at that path (models[${taken}], ${spec.models[taken]!.url}); \`remove ${id} ${path}\` first, or choose another PATH`, { version: id })
    }
    for (const w of warnings) io.err(`warning: ${w}`)
    const index = spec.models.length
    const model = { path, url: verdict.url, ...(sha256 ? { sha256 } : {}) }
    const failed = await writeEdited(io, json, target, appendEntry(target.loaded.text, 'models', model), { path: `models[${index}]`, label: `add-model ${urlArg} ${pathArg}` })
    if (failed !== undefined) return failed
    io.err(`added models/${path} (${verdict.url}) to ${target.shown} as models[${index}]`)
    io.err(`next: npx tsx tasks validate ${id}   (pins its size and sha256), then: npx tsx tasks realize ${id}`)
    if (json) printJson(io, { ok: true, version: id, file: resolve(target.loaded.file), at: `models[${index}]`, added: model, warnings })
    return EXIT.ok
  },
}
export default command
