import { resolve } from 'node:path'
import { appendEntry } from '../lib/spec/edit-spec.ts'
import { parseNodeArg } from '../lib/spec/node-arg.ts'
import { isRegistryNode, nodeName } from '../lib/spec/names.ts'
import { sameRepository } from '../lib/util/repo-url.ts'
import { bool, printJson, refuse, str, versionId, EXIT, UsageError, type Command } from './_cli.ts'
import { loadForEdit, writeEdited } from './_spec-edit.ts'

const command: Command = {
  name: 'add-node',
  summary: 'add a custom node to a spec',
  locations: true,
  allowPositionals: 2,
  options: { name: { type: 'string' }, disabled: { type: 'boolean' }, 'install-script': { type: 'boolean' } },
  help: `Usage: npx tsx tasks add-node <id> URL[@REF] | cnr:ID[@VER] [--name NAME] [--disabled] [--install-script]

Adds a custom node to versions/<id>.json, at the end of "custom_nodes"; the rest of the file keeps
its formatting and key order. Needs no network: \`validate <id>\` then pins the node (a commit for
git, a version and the archive's sha256 for the registry), and \`realize <id>\` installs it.

  URL[@REF]            a git repository, at a branch, tag or commit (default: its default branch);
                       a browser link to a branch (…/tree/BRANCH) is read as the repository at it
  cnr:ID[@VER]         a Comfy Registry node (e.g. cnr:comfyui-kjnodes@1.1.0; without a version
                       validate pins the latest)
  --name NAME          the folder under custom_nodes/ (default: the URL's last segment, or the id)
  --disabled           realize it under custom_nodes/.disabled/ (its requirements are not installed)
  --install-script     run the node's install.py after the dependencies are installed`,
  async run(args, io) {
    const id = versionId(args)
    const arg = args.positionals[1]
    if (!arg) throw new UsageError('missing the node: URL[@REF] or cnr:ID[@VER]')
    const json = bool(args, 'json')
    const parsed = parseNodeArg(arg, 'add-node')
    if (!parsed.ok) throw new UsageError(parsed.error)
    const target = await loadForEdit(args, io, id, json)
    if (typeof target === 'number') return target
    const { spec } = target.loaded
    const node: Record<string, unknown> = { ...(str(args, 'name') ? { name: str(args, 'name') } : {}), ...parsed.value.node }
    if (bool(args, 'disabled')) node.enabled = false
    if (bool(args, 'install-script')) node.install_script = true
    const name = nodeName(node)
    const source = (n: { registry?: unknown; repo?: unknown }) => (typeof n.registry === 'string' ? `cnr:${n.registry}` : String(n.repo))
    const index = spec.custom_nodes.length
    const same = spec.custom_nodes.findIndex(n => (isRegistryNode(n) ? n.registry === node.registry : typeof node.repo === 'string' && sameRepository((n as { repo: string }).repo, node.repo)))
    if (same >= 0) {
      return refuse(io, json, `add-node ${arg}: ${target.shown} already has it as custom_nodes[${same}] ("${nodeName(spec.custom_nodes[same]!)}"); to change its ref, edit that entry, or \`remove ${id} ${nodeName(spec.custom_nodes[same]!)}\` first`, { version: id })
    }
    const taken = spec.custom_nodes.findIndex(n => nodeName(n) === name)
    if (taken >= 0) {
      return refuse(io, json, `add-node ${arg}: the folder name "${name}" is taken by custom_nodes[${taken}] (${source(spec.custom_nodes[taken]!)}); give this one another with --name NAME`, { version: id })
    }
    for (const w of parsed.value.warnings) io.err(`warning: ${w}`)
    const text = appendEntry(target.loaded.text, 'custom_nodes', node)
    const failed = await writeEdited(io, json, target, text, { path: `custom_nodes[${index}]`, label: `add-node ${arg}` })
    if (failed !== undefined) return failed
    const ref = 'ref' in node && node.ref ? ` @ ${String(node.ref)}` : 'version' in node && node.version ? ` @ ${String(node.version)}` : ''
    io.err(`added ${name} (${source(node)}${ref}) to ${target.shown} as custom_nodes[${index}]`)
    io.err(`next: npx tsx tasks validate ${id}   (pins it), then: npx tsx tasks realize ${id}`)
    if (json) printJson(io, { ok: true, version: id, file: resolve(target.loaded.file), at: `custom_nodes[${index}]`, added: { name, ...node }, warnings: parsed.value.warnings })
    return EXIT.ok
  },
}
export default command
