import { z } from 'zod'
import { SCHEMA_VERSION, SpecSchema } from './schema.ts'

export const SPEC_SCHEMA_ID = `urn:comfy-vc:version-spec:${SCHEMA_VERSION}`

/**
 * Hover texts for editors, keyed by property path (`[]` stands for the items of a list). The zod schema carries its
 * documentation as comments, which z.toJSONSchema cannot see.
 */
const DESCRIPTIONS: Record<string, string> = {
  $schema: 'The JSON Schema of this file, for editor completion: a path relative to this file (create writes it from where the spec is; "../docs/version.schema.json" for the repository\'s versions/).',
  schema_version: `Always ${SCHEMA_VERSION}.`,
  id: 'The version id; equals the file name without .json.',
  comfyui: 'The ComfyUI core repository.',
  'comfyui.repo': 'An https://, http://, ssh://, git@host:path or file:///absolute/path URL.',
  'comfyui.ref': 'Branch, tag or short sha; omitted means the default branch.',
  'comfyui.commit': 'Full 40-character lowercase sha; wins over ref. `validate` writes it.',
  custom_nodes: 'Custom nodes under custom_nodes/<name>: each a git repository ("repo") or a Comfy Registry node ("registry"), exactly one of the two.',
  'custom_nodes[].name': 'Folder under custom_nodes/ (one segment, no "..", "/", "\\" or leading "."); default: the last URL segment without .git, or the registry id.',
  'custom_nodes[].registry': 'A Comfy Registry (CNR) id, e.g. "comfyui-kjnodes": installed from its archive, as ComfyUI-Manager does.',
  'custom_nodes[].version': 'Registry version X.Y.Z; omitted means the latest. `validate` writes it.',
  'custom_nodes[].sha256': "The archive's sha256, as first downloaded (the registry publishes no hash). `validate` writes it.",
  'custom_nodes[].repo': 'An https://, http://, ssh://, git@host:path or file:///absolute/path URL.',
  'custom_nodes[].ref': 'Branch, tag or short sha; omitted means the default branch.',
  'custom_nodes[].commit': 'Full 40-character lowercase sha; wins over ref. `validate` writes it.',
  'custom_nodes[].enabled': 'false: realized under custom_nodes/.disabled/<name> and its dependencies are not collected.',
  'custom_nodes[].install_script': "true: run the node's install.py after dependencies are installed.",
  models: 'Model files, each linked into ComfyUI\'s models/ folder from the content-addressed store.',
  'models[].path': 'Relative to models/, e.g. "checkpoints/x.safetensors" (no "..", backslash or leading "/"; not inside another model\'s path).',
  'models[].url': 'An https://, http:// or file:// URL.',
  'models[].sha256': '64 lowercase hex characters. `validate` writes it when the host says it.',
  'models[].size': 'Size in bytes.',
  python: 'The Python environment and dependency rules.',
  'python.version': 'Python version, e.g. "3.11".',
  'python.requirements': 'Extra top-level requirement lines.',
  'python.constraints': 'Extra constraint lines.',
  'python.overrides': 'Requirement remapping applied to collected lines: {"from": "to"}.',
  'python.blacklist': 'Packages never installed.',
  'python.downgrade_blacklist': 'Packages never downgraded.',
  'python.index_url': 'Replaces the default package index.',
  'python.extra_index_urls': 'Additional package indexes, e.g. "https://download.pytorch.org/whl/cu128".',
  'python.find_links': 'Folders or pages of wheels.',
  'python.torch_backend': 'uv only, e.g. "cu128".',
  'python.exclude_newer': 'uv only: an RFC 3339 date or time, for reproducible resolution.',
  'python.on_conflict': '"fail" stops on a dependency conflict; "per-node" installs each node\'s requirements separately.',
  'python.system_site_packages': 'true: the environment sees the base interpreter\'s packages (an image\'s CUDA torch); those that fit are not installed again.',
  'python.protect': 'Packages (globs) that keep their installed version and build; only a pin in python.requirements changes one. Default: torch, torchvision, torchaudio, xformers, triton, nvidia-*.',
  'python.index_strategy': 'uv only: "first-index" (uv\'s default: a package comes from the first index that has it) or "unsafe-best-match" (pip\'s: the best version across all indexes).',
  'python.node_indexes': '"allow": index URLs in node requirements are used as extra indexes; "deny": they are reported and not used.',
  launch: 'How run-ui starts ComfyUI.',
  'launch.port': 'TCP port, 0..65535.',
  'launch.listen': 'Address to listen on.',
  'launch.args': 'Extra main.py arguments.',
  'launch.env': 'Extra environment variables.',
  'launch.startup_timeout_s': 'Seconds ComfyUI may take to answer after it starts (default 600).',
}

type JsonObject = Record<string, unknown>

/** The JSON Schema of a version spec as written (defaults optional), for editors and other tools. */
export function specJsonSchema(): JsonObject {
  const generated = z.toJSONSchema(SpecSchema, { io: 'input', target: 'draft-2020-12' }) as JsonObject
  for (const [path, text] of Object.entries(DESCRIPTIONS)) describeAt(generated, path, text)
  const { $schema, ...rest } = generated
  return {
    $schema,
    $id: SPEC_SCHEMA_ID,
    title: 'comfy-vc version spec',
    description: `A ComfyUI version for comfy-vc (schema_version ${SCHEMA_VERSION}): the core, custom nodes and models pinned to commits and sha256, and the Python rules. Generated from lib/spec/schema.ts by \`npm run schema\`; do not edit.`,
    ...rest,
  }
}

/** The committed file's content: two-space JSON with a trailing newline. */
export const renderSpecJsonSchema = (): string => `${JSON.stringify(specJsonSchema(), null, 2)}\n`

// --- internal ---

/** Puts `description` first on the property's schema, so it reads first in the file. */
function describeAt(schema: JsonObject, path: string, text: string): void {
  let parent = schema
  const segments = path.split('.')
  segments.forEach((segment, i) => {
    const list = segment.endsWith('[]')
    const name = list ? segment.slice(0, -2) : segment
    // A union (custom nodes: git or registry) describes the property in each of its shapes that has it.
    const shapes = (parent.anyOf as JsonObject[] | undefined) ?? [parent]
    const holders = shapes.filter(s => (s.properties as Record<string, JsonObject> | undefined)?.[name])
    if (!holders.length) throw new Error(`json-schema: no property "${path}" in the spec schema (update DESCRIPTIONS)`)
    for (const holder of holders) {
      const props = holder.properties as Record<string, JsonObject>
      if (i === segments.length - 1) props[name] = { description: text, ...props[name] }
    }
    if (i === segments.length - 1) return
    let target = (holders[0]!.properties as Record<string, JsonObject>)[name]!
    if (list) target = target.items as JsonObject
    parent = target
  })
}
