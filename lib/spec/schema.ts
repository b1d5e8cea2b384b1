import { z } from 'zod'
import { nameTextProblem, nodeName, unsafePathReason } from './names.ts'
import { refFormatProblem } from '../util/ref-format.ts'
import { splitBrowserRepoUrl } from '../util/repo-url.ts'

export { nodeName, unsafePathReason }

/** Schema version this tool reads and writes. */
export const SCHEMA_VERSION = 2

export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/
const HEX40 = /^[0-9a-f]{40}$/
const HEX64 = /^[0-9a-f]{64}$/

const REPO_URL = /^(https?:\/\/[^\s/]+\/\S+|ssh:\/\/\S+|file:\/\/(localhost)?\/\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$/
const MODEL_URL = /^(https?:\/\/[^\s/]+\/\S*|file:\/\/(localhost)?\/\S+)$/

const safeRelativePath = (what: string) => z.string({ error: `${what} must be a string` })
  .min(1, { error: `${what} must not be empty` })
  .superRefine((p, ctx) => {
    const reason = unsafePathReason(p)
    if (reason) ctx.addIssue({ code: 'custom', message: `${what} ${reason}` })
  })

const commit = z.string().regex(HEX40, { error: 'commit must be a full 40-character lowercase hex sha; a short hash goes in "ref" instead (validate resolves it to the full commit), or remove "commit" and let validate pin it' })
  .refine(c => !/^0+$/.test(c), { error: 'commit is the null id (all zeros), which names no commit; remove "commit" (validate pins a real one) or write the one you want' })
const repoUrl = z.string({ error: 'repo must be a string' }).min(1, { error: 'repo must not be empty', abort: true })
  .regex(REPO_URL, { error: 'repo must be an https://, http://, ssh://, git@host:path or file:///absolute/path URL' })
  .superRefine((url, ctx) => {
    // A browser link to a branch names the branch, not the repository: git cannot clone it.
    const split = splitBrowserRepoUrl(url)
    if (split.ref !== undefined) ctx.addIssue({ code: 'custom', message: `repo is a browser link to ${split.ref} (…/tree/${split.ref}); write "repo": "${split.repo}" and "ref": "${split.ref}"` })
  })
const ref = z.string().min(1, { error: 'ref must not be empty' }).regex(/^[^\s~^:?*[\\]+$/, { error: 'ref is not a valid git ref name' })
  .superRefine((r, ctx) => {
    // Only when the coarse check passed: one message per ref.
    if (!/^[^\s~^:?*[\\]+$/.test(r)) return
    const problem = refFormatProblem(r)
    if (problem) ctx.addIssue({ code: 'custom', message: `ref ${problem}` })
  })

export const ComfyuiSchema = z.strictObject({
  repo: repoUrl,
  /** Branch, tag or (short) sha; omitted means the repository's default branch. */
  ref: ref.optional(),
  /** Wins over `ref` when both are present. */
  commit: commit.optional(),
})

const nodeFolderName = z.string().min(1, { error: 'name must not be empty' }).max(128)
  .superRefine((p, ctx) => {
    const oneFolder = 'must be a single folder name (no "/" or "\\")'
    const reason = (p.includes('\\') ? oneFolder : unsafePathReason(p)) ?? (p.includes('/') ? oneFolder : undefined)
      ?? (p.startsWith('.') ? 'must not start with "."' : undefined) ?? nameTextProblem(p)
    if (reason) ctx.addIssue({ code: 'custom', message: `name ${reason}` })
  })
const nodeSwitches = {
  /** false: realized under custom_nodes/.disabled/<name>, dependencies not collected. */
  enabled: z.boolean({ error: 'enabled must be true or false' }).default(true),
  /** true: run the node's install.py after dependencies are installed. */
  install_script: z.boolean({ error: 'install_script must be true or false' }).default(false),
}

/** A custom node checked out from git. */
export const GitNodeSchema = z.strictObject({
  /** Directory under custom_nodes/; default: the last URL segment without `.git`. */
  name: nodeFolderName.optional(),
  repo: repoUrl,
  ref: ref.optional(),
  commit: commit.optional(),
  ...nodeSwitches,
})

/** The Comfy Registry's id pattern: one path segment, as the Registry and ComfyUI-Manager accept it. */
export const REGISTRY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
export const REGISTRY_VERSION = /^\d+\.\d+\.\d+$/

/** A custom node installed from a Comfy Registry (CNR) archive. */
export const RegistryNodeSchema = z.strictObject({
  /** Directory under custom_nodes/; default: the registry id (as ComfyUI-Manager installs it). */
  name: nodeFolderName.optional(),
  registry: z.string({ error: 'registry must be a string (the Comfy Registry id, e.g. "comfyui-kjnodes")' })
    .regex(REGISTRY_ID, { error: 'registry must be a Comfy Registry id: one segment of letters, digits, ".", "_" or "-" (no "/"), e.g. "comfyui-kjnodes"' }),
  /** Omitted: the latest version, pinned by validate. */
  version: z.string({ error: 'version must be a string' }).regex(REGISTRY_VERSION, { error: 'version must be a registry version X.Y.Z, e.g. "1.0.5"' }).optional(),
  /** Of the archive as first downloaded (the registry publishes no hash); pinned by validate. */
  sha256: z.string().regex(HEX64, { error: 'sha256 must be 64 lowercase hex characters' }).optional(),
  ...nodeSwitches,
})

/** Either kind; which one is decided by the key it has (`repo` or `registry`), see parse-spec.ts. */
export const CustomNodeSchema = z.union([GitNodeSchema, RegistryNodeSchema])

export const ModelSchema = z.strictObject({
  /** Relative to ComfyUI's models/ folder. */
  path: safeRelativePath('path'),
  url: z.string({ error: 'url must be a string' }).regex(MODEL_URL, { error: 'url must be an https://, http:// or file:///absolute/path URL' }),
  sha256: z.string().regex(HEX64, { error: 'sha256 must be 64 lowercase hex characters' }).optional(),
  size: z.number({ error: 'size must be a number of bytes' }).int({ error: 'size must be a whole number of bytes' })
    .nonnegative({ error: 'size must not be negative' }).optional(),
})

const requirementLine = z.string().min(1, { error: 'a requirement must not be empty' })
const indexUrl = z.string().regex(/^(https?|file):\/\/\S+$/, { error: 'an index URL must be an http(s):// or file:// URL' })

export const PythonSchema = z.strictObject({
  version: z.string().regex(/^3\.\d{1,2}$/, { error: 'version must look like "3.11"' }).optional(),
  requirements: z.array(requirementLine).default([]),
  constraints: z.array(requirementLine).default([]),
  /** Package spec remapping applied to collected lines (seed 004's pip_overrides). */
  overrides: z.record(z.string(), z.string()).default({}),
  blacklist: z.array(z.string().min(1)).default([]),
  downgrade_blacklist: z.array(z.string().min(1)).default([]),
  index_url: indexUrl.nullable().default(null),
  extra_index_urls: z.array(indexUrl).default([]),
  find_links: z.array(z.string().min(1)).default([]),
  /** uv only, e.g. "cu128". */
  torch_backend: z.string().min(1).nullable().default(null),
  /** uv only: an RFC 3339 time for reproducible resolution. */
  exclude_newer: z.string().regex(/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/, { error: 'exclude_newer must be an RFC 3339 date or time' }).nullable().default(null),
  /** "fail" (default) stops on a dependency conflict; "per-node" installs each node's requirements separately. */
  on_conflict: z.enum(['fail', 'per-node'], { error: 'on_conflict must be "fail" or "per-node"' }).default('fail'),
  /** true: the environment sees the base interpreter's packages (an image's CUDA torch); those that fit are not installed again. */
  system_site_packages: z.boolean({ error: 'system_site_packages must be true or false' }).default(false),
  /**
   * Distributions (PEP 503 names, `*` globs) that keep their installed version and build: constraints of the compile,
   * never replaced by the installer. Only a pin of the package in python.requirements changes one.
   */
  protect: z.array(z.string().regex(/^[A-Za-z0-9*][A-Za-z0-9._*-]*$/, { error: 'a protect entry must be a package name, with * as a wildcard (e.g. "nvidia-*")' }))
    .default(['torch', 'torchvision', 'torchaudio', 'xformers', 'triton', 'nvidia-*']),
  /** uv only: "first-index" (uv's default) or "unsafe-best-match" (pip's behaviour; see docs/tech.md). */
  index_strategy: z.enum(['first-index', 'unsafe-first-match', 'unsafe-best-match'], { error: 'index_strategy must be "first-index", "unsafe-first-match" or "unsafe-best-match"' }).nullable().default(null),
  /** "deny": --index-url / --extra-index-url lines in node requirements are reported and not used (dependency confusion). */
  node_indexes: z.enum(['allow', 'deny'], { error: 'node_indexes must be "allow" or "deny"' }).default('allow'),
})

export const LaunchSchema = z.strictObject({
  port: z.number().int().min(0, { error: 'port must be 0..65535' }).max(65535, { error: 'port must be 0..65535' }).default(8188),
  listen: z.string().min(1).default('127.0.0.1'),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  startup_timeout_s: z.number().int().min(1, { error: 'startup_timeout_s must be a whole number of seconds, at least 1' }).default(600),
})

export const SpecSchema = z.strictObject({
  $schema: z.string().optional(),
  schema_version: z.literal(SCHEMA_VERSION, { error: `schema_version must be ${SCHEMA_VERSION}` }),
  id: z.string({ error: 'id must be a string' }).regex(ID_PATTERN, { error: 'id must match [a-z0-9][a-z0-9._-]{0,63}' }),
  description: z.string().optional(),
  comfyui: ComfyuiSchema,
  custom_nodes: z.array(CustomNodeSchema).default([]),
  models: z.array(ModelSchema).default([]),
  python: PythonSchema.prefault({}),
  launch: LaunchSchema.prefault({}),
})

/** A version spec as written in versions/<id>.json (defaults not yet applied). */
export type SpecInput = z.input<typeof SpecSchema>
/** A validated version spec, defaults applied. */
export type Spec = z.output<typeof SpecSchema>
export type CustomNode = Spec['custom_nodes'][number]
export type GitNode = z.output<typeof GitNodeSchema>
export type RegistryNode = z.output<typeof RegistryNodeSchema>
export type Model = Spec['models'][number]
export type PythonRules = Spec['python']
