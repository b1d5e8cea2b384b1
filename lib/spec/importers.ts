import { GitNodeSchema, RegistryNodeSchema, ModelSchema, SCHEMA_VERSION, nodeName, unsafePathReason, type SpecInput } from './schema.ts'
import { err, ok, type Result } from '../result.ts'
import { isSecretQueryName, redact } from '../util/redact.ts'
import { modelPageVerdict } from './model-page-url.ts'
import { sameRepository, splitBrowserRepoUrl } from '../util/repo-url.ts'

/** A custom node entry as written in a spec (defaults not applied). */
export type CustomNodeInput = NonNullable<SpecInput['custom_nodes']>[number]
/** A model entry as written in a spec. */
export type ModelInput = NonNullable<SpecInput['models']>[number]

export interface ImportedNodes {
  nodes: CustomNodeInput[]
  /** From a ComfyUI-Manager snapshot: the core's commit. */
  comfyui?: { repo?: string; commit?: string; ref?: string }
  /** Registry ids a snapshot holds as `nightly` or `unknown`: git clones, whose repository only the registry can say. */
  nightly?: string[]
  /** Models a snapshot lists with their download URLs (comfy-pack's `models`). */
  models?: ModelInput[]
  warnings: string[]
}

export interface ImportedModels {
  models: ModelInput[]
  warnings: string[]
}

const HEX40 = /^[0-9a-f]{40}$/i
const HEX64 = /^[0-9a-f]{64}$/i
/** An abbreviated commit as git prints one (7 or more hex digits; git's minimum is 4). */
const SHORT_HEX = /^[0-9a-f]{4,39}$/

type Loose = Record<string, unknown>
const isObject = (v: unknown): v is Loose => !!v && typeof v === 'object' && !Array.isArray(v)
const describe = (v: unknown): string => {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (!isObject(v)) return `${typeof v} ${JSON.stringify(v)}`
  const keys = Object.keys(v)
  if (!keys.length) return 'an empty object'
  return `an object with keys ${keys.slice(0, 8).map(k => `"${k}"`).join(', ')}${keys.length > 8 ? ', ...' : ''}`
}

// ---------------------------------------------------------------------------------------------------------------
// Repository arguments

/**
 * Splits `URL@REF` into the repository and the ref. The `@` of a user name (`git@host:path`,
 * `ssh://git@host/path`, `https://user@host/path`) belongs to the URL, so only an `@` inside the path counts.
 */
export function parseRepoArg(arg: string): { repo: string; ref?: string } {
  const text = arg.trim()
  const at = text.lastIndexOf('@')
  if (at < 0 || at < pathStart(text)) return { repo: text }
  const repo = text.slice(0, at)
  const ref = text.slice(at + 1)
  return ref ? { repo, ref } : { repo }
}

/** Where the path part of a repository URL begins (0 for a plain local path). */
function pathStart(url: string): number {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)
  if (scheme) {
    const slash = url.indexOf('/', scheme[0].length)
    // file:///x has an empty authority; a URL without a path has nothing to split.
    return slash < 0 ? url.length : slash
  }
  // scp-like syntax: [user@]host:path, recognised by a ':' before any '/'.
  const colon = url.indexOf(':')
  const slash = url.indexOf('/')
  if (colon > 0 && (slash < 0 || colon < slash)) return colon + 1
  return 0
}

// What only makes a signed URL valid (S3, GCS, CloudFront, Azure SAS). Without its signature the host would refuse
// the URL while they are there, and the bare object URL may still work (a public object), so they go too.
const SIGNING_PARAMS = new Set(['awsaccesskeyid', 'googleaccessid', 'expires', 'policy', 'key-pair-id',
  'sv', 'ss', 'srt', 'sp', 'se', 'st', 'spr', 'sr', 'si', 'sip', 'sdd', 'ses', 'skoid', 'sktid', 'skt', 'ske', 'sks', 'skv', 'saoid', 'suoid', 'scid'])
const isSigningParam = (name: string) => /^x-(?:amz|goog)-/.test(name) || SIGNING_PARAMS.has(name)
const isSignature = (name: string) => name.split(/[^a-z0-9]+/).some(w => w === 'sig' || w.endsWith('signature'))

/**
 * A URL without the credentials a spec must not store: the user info of http(s)/file URLs (a token is often the user
 * name), the password of ssh:// URLs, and query parameters whose name says they are a credential (see
 * `isSecretQueryName`). Hosts get credentials from HF_TOKEN, CIVITAI_TOKEN or git's credential helper instead.
 * `presigned`: the URL was signed (S3, GCS, Azure SAS); its signing parameters are removed with the signature, so
 * what is left is the object's URL, which works only for a public object. `git@host:path` is left alone.
 */
export function stripUrlCredentials(url: string): { url: string; removed: boolean; presigned: boolean } {
  let out = url.replace(/^((?:https?|file):\/\/)[^/@\s]*@/i, '$1')
    .replace(/^(ssh:\/\/[^/@:\s]+):[^/@\s]*@/i, '$1@')
  let presigned = false
  const query = /^([^?#]*)\?([^#]*)(#.*)?$/.exec(out)
  if (query) {
    const params = (query[2] ?? '').split('&')
    const names = params.map(p => decodeURIComponentSafe(p.split('=')[0] ?? ''))
    const secret = names.map(isSecretQueryName)
    presigned = names.some((n, i) => secret[i] && isSignature(n.toLowerCase()))
    const kept = params.filter((_, i) => !secret[i] && !(presigned && isSigningParam(names[i]!.toLowerCase())))
    if (kept.length < params.length) out = `${query[1]}${kept.length ? `?${kept.join('&')}` : ''}${query[3] ?? ''}`
  }
  return { url: out, removed: out !== url, presigned }
}

const decodeURIComponentSafe = (s: string) => { try { return decodeURIComponent(s) } catch { return s } }

const CREDENTIALS_REMOVED = 'removed credentials from the URL, since a spec must not store secrets (HF_TOKEN, CIVITAI_TOKEN or a git credential helper supply them)'
const SIGNATURE_REMOVED = 'removed the signature of a presigned URL and its signing parameters, since a spec must not store secrets (a signed URL is one, and it expires); the URL left works only if the file is public, otherwise serve it from a host an auth rule in cache.config.ts covers, or from a file:// path'

/** Errors and warnings may quote URLs from the input; none may carry a credential. */
function redacted<T extends { warnings: string[] }>(result: Result<T, string[]>): Result<T, string[]> {
  return result.ok ? ok({ ...result.value, warnings: result.value.warnings.map(redact) }) : err(result.error.map(redact))
}

// ---------------------------------------------------------------------------------------------------------------
// Custom nodes

const NODE_KEYS = ['name', 'repo', 'url', 'ref', 'commit', 'enabled', 'install_script']
const NODES_EXPECTED = 'expected a JSON list of node entries ({"repo", "ref"?, "commit"?, "name"?, "enabled"?, "install_script"?} objects or "URL@REF" strings) or a ComfyUI-Manager snapshot (an object with "git_custom_nodes"), or a UI-format workflow (its nodes\' "cnr_id", "aux_id" and "ver")'

/** Reads a `--nodes` file: a list of node entries, or a ComfyUI-Manager snapshot. Pure: the caller parses the JSON. */
export function nodesFromFile(json: unknown): Result<ImportedNodes, string[]> {
  if (Array.isArray(json)) return redacted(nodesFromList(json))
  // A YAML snapshot (cm-cli save-snapshot --output x.yaml) holds the same object under "custom_nodes".
  if (isObject(json) && Object.keys(json).length === 1 && isObject(json.custom_nodes) && isSnapshot(json.custom_nodes)) return redacted(nodesFromSnapshot(json.custom_nodes))
  if (isObject(json) && isSnapshot(json)) return redacted(nodesFromSnapshot(json))
  if (isUiWorkflow(json)) return redacted(nodesFromWorkflow(json))
  if (isObject(json) && json.type === 'comfyui-launcher-snapshot') return redacted(nodesFromDesktopExport(json))
  if (isObject(json) && Array.isArray(json.custom_nodes) && 'comfyui' in json) return redacted(nodesFromComfyPack(json))
  return err([redact(`${NODES_EXPECTED}; got ${describe(json)}`)])
}

/** A workflow as the editor saves it: a list of nodes with types (an API prompt is a map of class_type entries). */
const isUiWorkflow = (json: unknown): json is Loose =>
  isObject(json) && Array.isArray(json.nodes) && ('links' in json || json.nodes.some(n => isObject(n) && typeof n.type === 'string'))

/**
 * The node packs a UI-format workflow uses, from what the frontend records on each node: `cnr_id` (the registry id;
 * "comfy-core" is ComfyUI itself), `aux_id` ("owner/repo" on GitHub, for packs not installed from the registry) and
 * `ver` (the registry version, or the git commit of a clone). Subgraphs' nodes count too.
 */
function nodesFromWorkflow(workflow: Loose): Result<ImportedNodes, string[]> {
  const errors: string[] = []
  const warnings: string[] = []
  const nodes: CustomNodeInput[] = []
  const add = nodeAdder(nodes, errors, warnings)
  const seen = new Map<string, { version: string | undefined; where: string }>()
  const unnamed = new Set<string>()
  const visit = (list: unknown, prefix: string) => {
    if (!Array.isArray(list)) return
    list.forEach((node, i) => {
      if (!isObject(node)) return
      const where = `${prefix}[${i}].properties`
      const props = isObject(node.properties) ? node.properties : {}
      const cnr = typeof props.cnr_id === 'string' ? props.cnr_id.trim() : ''
      const aux = typeof props.aux_id === 'string' ? props.aux_id.trim() : ''
      const ver = typeof props.ver === 'string' ? props.ver.trim() : ''
      if (cnr === 'comfy-core') return
      if (!cnr && !aux) {
        // A subgraph instance's type is the subgraph's id, and primitives and notes are the frontend's own.
        if (typeof node.type === 'string' && !SUBGRAPH_ID.test(node.type) && !FRONTEND_NODES.has(node.type)) unnamed.add(node.type)
        return
      }
      const key = cnr || aux.toLowerCase()
      const before = seen.get(key)
      if (before) {
        if (before.version !== (ver || undefined)) warnings.push(`${where}: ${key} is used at ${ver || 'no version'} here and at ${before.version ?? 'no version'} in ${before.where}; kept the first`)
        return
      }
      seen.set(key, { version: ver || undefined, where })
      const hash = ver.toLowerCase()
      if (aux && /^[^/\s]+\/[^/\s]+$/.test(aux) && (!registryVersion(ver) || !cnr)) {
        const git: CustomNodeInput = { repo: `https://github.com/${aux.replace(/\.git$/, '')}` }
        if (HEX40.test(hash)) git.commit = hash
        else if (SHORT_HEX.test(hash)) git.ref = hash
        else warnings.push(`${where}: ${aux} has no commit in the workflow${ver ? ` ("ver": "${ver}" is not one)` : ''}; imported unpinned (validate pins its default branch)`)
        add(git, where)
      } else if (cnr) {
        const version = registryVersion(ver)
        if (!version) warnings.push(`${where}: ${cnr} has no registry version in the workflow${ver ? ` ("ver": "${ver}")` : ''}; imported without one, so validate pins the latest`)
        add(version ? { registry: cnr, version } : { registry: cnr }, where)
      } else {
        errors.push(`${where}.aux_id: "${aux}" is not a GitHub "owner/repo"`)
      }
    })
  }
  visit(workflow.nodes, 'nodes')
  const subgraphs = isObject(workflow.definitions) ? workflow.definitions.subgraphs : undefined
  if (Array.isArray(subgraphs)) subgraphs.forEach((g, i) => isObject(g) && visit(g.nodes, `definitions.subgraphs[${i}].nodes`))
  if (unnamed.size) warnings.push(`left out ${unnamed.size} node type(s) that name no pack (no "cnr_id" or "aux_id" in their properties; saved by an older frontend?): ${[...unnamed].join(', ')}; add their packs with --node`)
  return partial(errors, nodes.length, warnings, () => ({ nodes: dedupeNodes(nodes, warnings), warnings }))
}

/**
 * A comfy-pack snapshot (the snapshot.json of a .cpack.zip): `comfyui` (the core's commit), `custom_nodes`
 * ([{url, commit_hash, disabled}], git checkouts only) and `models` ([{filename, sha256, size, disabled, source}],
 * `filename` relative to the ComfyUI folder, the URL in `source.download_url` when comfy-pack found one).
 */
function nodesFromComfyPack(pack: Loose): Result<ImportedNodes, string[]> {
  const errors: string[] = []
  const warnings: string[] = []
  const nodes: CustomNodeInput[] = []
  const add = nodeAdder(nodes, errors, warnings)
  const core = typeof pack.comfyui === 'string' ? pack.comfyui.trim().toLowerCase() : ''
  const comfyui = HEX40.test(core) ? { commit: core } : undefined
  if (!comfyui) warnings.push(`"comfyui": ${JSON.stringify(pack.comfyui)} is not a full commit sha; the core is left unpinned`)
  ;(pack.custom_nodes as unknown[]).forEach((entry, i) => {
    const where = `custom_nodes[${i}]`
    if (!isObject(entry) || typeof entry.url !== 'string' || !entry.url) { errors.push(`${where}: expected {"url", "commit_hash", "disabled"}, got ${describe(entry)}`); return }
    const node: CustomNodeInput = { repo: entry.url }
    const hash = typeof entry.commit_hash === 'string' ? entry.commit_hash.trim().toLowerCase() : ''
    if (HEX40.test(hash)) node.commit = hash
    else warnings.push(`${where}: ${entry.url} has no full "commit_hash"; imported unpinned`)
    if (entry.disabled === true) node.enabled = false
    add(node, where)
  })
  const models: ModelInput[] = []
  const list = Array.isArray(pack.models) ? pack.models : []
  list.forEach((entry, i) => {
    const where = `models[${i}]`
    if (!isObject(entry) || typeof entry.filename !== 'string') { errors.push(`${where}: expected {"filename", "sha256", "source"}, got ${describe(entry)}`); return }
    const file = entry.filename.replace(/\\/g, '/')
    if (entry.disabled === true) { warnings.push(`left out ${where} (${file}): not selected for the pack ("disabled": true)`); return }
    const url = isObject(entry.source) && typeof entry.source.download_url === 'string' ? entry.source.download_url : undefined
    if (!url) { warnings.push(`left out ${where} (${file}): comfy-pack found no download URL for it; add it with its URL (a --models list)`); return }
    if (!file.startsWith('models/')) { warnings.push(`left out ${where} (${file}): not under models/`); return }
    const mine: string[] = []
    const model = modelFromEntry({ url, path: file.slice('models/'.length), ...(typeof entry.sha256 === 'string' ? { sha256: entry.sha256 } : {}), ...(typeof entry.size === 'number' ? { size: entry.size } : {}) }, where, mine, warnings)
    if (model && !mine.length) models.push(model)
    else warnings.push(...mine.map(e => `left out ${e}`))
  })
  return partial(errors, nodes.length + models.length, warnings, () => ({ nodes: dedupeNodes(nodes, warnings), models: dedupeModels(models, warnings), ...(comfyui ? { comfyui } : {}), warnings }))
}

/**
 * A Comfy Desktop 2.0 snapshot export: `{"type": "comfyui-launcher-snapshot", "snapshots": [...]}`, each snapshot
 * with `comfyui.commit` and `customNodes` ([{id, type: "cnr" | "git" | "file", dirName, enabled, version?, commit?,
 * url?}]). The newest snapshot is read; an export of several says so.
 */
function nodesFromDesktopExport(envelope: Loose): Result<ImportedNodes, string[]> {
  const snapshots = Array.isArray(envelope.snapshots) ? envelope.snapshots.filter(isObject) : []
  if (!snapshots.length) return err(['snapshots: the export holds no snapshot'])
  const newest = snapshots.reduce((a, b) => (String(b.createdAt ?? '') > String(a.createdAt ?? '') ? b : a))
  const index = snapshots.indexOf(newest)
  const errors: string[] = []
  const warnings: string[] = []
  if (snapshots.length > 1) warnings.push(`the export holds ${snapshots.length} snapshots; read the newest (snapshots[${index}], ${String(newest.createdAt)}${newest.label ? `, "${String(newest.label)}"` : ''})`)
  const nodes: CustomNodeInput[] = []
  const add = nodeAdder(nodes, errors, warnings)
  const coreInfo = isObject(newest.comfyui) ? newest.comfyui : {}
  const core = typeof coreInfo.commit === 'string' ? coreInfo.commit.trim().toLowerCase() : ''
  const comfyui = HEX40.test(core) ? { commit: core } : undefined
  if (!comfyui) warnings.push(`the snapshot records no full ComfyUI commit (ref ${JSON.stringify(coreInfo.ref ?? null)}); the core is left unpinned`)
  const list = Array.isArray(newest.customNodes) ? newest.customNodes : []
  list.forEach((entry, i) => {
    const where = `snapshots[${index}].customNodes[${i}]`
    if (!isObject(entry)) { errors.push(`${where}: expected an object, got ${describe(entry)}`); return }
    const dir = typeof entry.dirName === 'string' ? entry.dirName : undefined
    const switches = entry.enabled === false ? { enabled: false } : {}
    if (entry.type === 'file') { warnings.push(`left out ${where} (${String(entry.id)}): a single-file node, not a git repository; put it in one to pin it`); return }
    if (entry.type === 'cnr' && typeof entry.id === 'string') {
      // The registry id is the lower-cased pyproject name (as Manager normalises it).
      const id = entry.id.trim().toLowerCase()
      const version = typeof entry.version === 'string' ? registryVersion(entry.version) : undefined
      if (!version) warnings.push(`${where}: ${id} has no registry version; imported without one, so validate pins the latest`)
      add({ registry: id, ...(version ? { version } : {}), ...(dir && dir !== id ? { name: dir } : {}), ...switches }, where)
      return
    }
    if (entry.type === 'git') {
      if (typeof entry.url !== 'string' || !entry.url) { warnings.push(`left out ${where} (${String(entry.id)}): a folder with no git remote; add it with --node URL@REF`); return }
      const node: CustomNodeInput = { repo: entry.url, ...switches }
      const hash = typeof entry.commit === 'string' ? entry.commit.trim().toLowerCase() : ''
      if (HEX40.test(hash)) node.commit = hash
      else if (SHORT_HEX.test(hash)) node.ref = hash
      if (dir && dir !== nodeName({ repo: entry.url })) node.name = dir
      add(node, where)
      return
    }
    errors.push(`${where}: unknown node type ${JSON.stringify(entry.type)} (expected "cnr", "git" or "file")`)
  })
  return partial(errors, nodes.length, warnings, () => ({ nodes: dedupeNodes(nodes, warnings), ...(comfyui ? { comfyui } : {}), warnings }))
}

const SUBGRAPH_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Node types the frontend itself provides, which no pack installs. */
const FRONTEND_NODES = new Set(['Note', 'MarkdownNote', 'PrimitiveNode', 'Reroute'])

const isSnapshot = (o: Loose) => ['git_custom_nodes', 'cnr_custom_nodes', 'file_custom_nodes'].some(k => k in o)

function nodesFromList(list: unknown[]): Result<ImportedNodes, string[]> {
  const errors: string[] = []
  const warnings: string[] = []
  const nodes: CustomNodeInput[] = []
  const add = nodeAdder(nodes, errors, warnings)
  list.forEach((entry, i) => {
    const where = `entry [${i}]`
    if (typeof entry === 'string') {
      const { repo, ref } = parseRepoArg(entry)
      add(ref ? { repo, ref } : { repo }, where)
      return
    }
    if (!isObject(entry)) {
      errors.push(`${where}: expected an object or a "URL@REF" string, got ${describe(entry)}`)
      return
    }
    const unknown = Object.keys(entry).filter(k => !NODE_KEYS.includes(k))
    if (unknown.length) errors.push(`${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map(k => `"${k}"`).join(', ')} (allowed: repo or url, ref, commit, name, enabled, install_script)`)
    if (entry.repo !== undefined && entry.url !== undefined && entry.repo !== entry.url) {
      errors.push(`${where}: both "repo" and "url" are set and differ; keep one`)
    }
    const repo = entry.repo ?? entry.url
    if (repo === undefined) {
      errors.push(`${where}: "repo" (or "url") is required`)
      return
    }
    const node: Loose = {}
    for (const key of ['name', 'repo', 'ref', 'commit', 'enabled', 'install_script']) {
      const value = key === 'repo' ? repo : entry[key]
      if (value !== undefined) node[key] = value
    }
    add(node as CustomNodeInput, where)
  })
  return partial(errors, nodes.length, warnings, () => ({ nodes: dedupeNodes(nodes, warnings), warnings }))
}

function nodesFromSnapshot(snap: Loose): Result<ImportedNodes, string[]> {
  const errors: string[] = []
  const warnings: string[] = []
  const nodes: CustomNodeInput[] = []
  const add = nodeAdder(nodes, errors, warnings)
  let comfyui: ImportedNodes['comfyui']

  const core = typeof snap.comfyui === 'string' ? snap.comfyui.trim().toLowerCase() : ''
  if (HEX40.test(core)) comfyui = { commit: core }
  else if (SHORT_HEX.test(core)) {
    comfyui = { ref: core }
    warnings.push(`the snapshot's ComfyUI commit "${core}" is a short hash, kept as the core's ref: \`validate\` resolves it to the full commit it names`)
  } else if (snap.comfyui !== undefined && snap.comfyui !== null) {
    warnings.push(`the snapshot's "comfyui" value ${JSON.stringify(snap.comfyui)} is not a full 40-character commit sha; the core is left unpinned (set comfyui.ref or run \`validate\`)`)
  }

  const git = snap.git_custom_nodes ?? {}
  if (!isObject(git)) errors.push(`git_custom_nodes: expected an object mapping repository URLs to {"hash", "disabled"}, got ${describe(git)}`)
  else {
    const unpinned: string[] = []
    const shortPins: string[] = []
    for (const [url, info] of Object.entries(git)) {
      const where = `git_custom_nodes["${url}"]`
      if (!isObject(info)) {
        errors.push(`${where}: expected an object {"hash", "disabled"}, got ${describe(info)}`)
        continue
      }
      if (info.disabled !== undefined && typeof info.disabled !== 'boolean') {
        errors.push(`${where}.disabled: expected true or false, got ${describe(info.disabled)}`)
        continue
      }
      const node: CustomNodeInput = { repo: url }
      // Manager writes a pack it restored as "<sha>\n"; the whitespace is not part of the pin.
      const hash = typeof info.hash === 'string' ? info.hash.trim().toLowerCase() : ''
      if (HEX40.test(hash)) node.commit = hash
      else if (SHORT_HEX.test(hash)) { node.ref = hash; shortPins.push(`${url} (${hash})`) }
      else unpinned.push(url)
      node.enabled = info.disabled !== true
      add(node, where)
    }
    if (shortPins.length) warnings.push(`${shortPins.length} git node(s) have a short commit hash in the snapshot, kept as their ref: \`validate\` resolves each to the full commit it names (never to a branch tip): ${shortPins.join(', ')}`)
    if (unpinned.length) warnings.push(`${unpinned.length} git node(s) have no full commit sha in the snapshot and were imported unpinned (run \`validate\` to pin them): ${unpinned.join(', ')}`)
  }

  const nightly: string[] = []
  const cnr = snap.cnr_custom_nodes ?? {}
  if (!isObject(cnr)) errors.push(`cnr_custom_nodes: expected an object mapping registry ids to versions, got ${describe(cnr)}`)
  else {
    for (const [id, version] of Object.entries(cnr)) {
      const where = `cnr_custom_nodes["${id}"]`
      if (typeof version !== 'string') { errors.push(`${where}: expected a version string, got ${describe(version)}`); continue }
      if (version === 'nightly' || version === 'unknown') { nightly.push(id); continue }
      const semver = registryVersion(version)
      if (!semver) { warnings.push(`${where}: "${version}" is not a registry version (X.Y.Z); imported without a version, so validate pins the latest`); add({ registry: id }, where); continue }
      add({ registry: id, version: semver }, where)
    }
  }

  const files = snap.file_custom_nodes ?? []
  if (!Array.isArray(files)) errors.push(`file_custom_nodes: expected a list of {"filename", "disabled"}, got ${describe(files)}`)
  else if (files.length) {
    const list = files.map(f => (isObject(f) && typeof f.filename === 'string' ? `${f.filename}${f.disabled === true ? ' (disabled)' : ''}` : JSON.stringify(f)))
    warnings.push(`left out ${list.length} single-file custom node(s), which are not git repositories: ${list.join(', ')}; put them in a git repository to pin them`)
  }

  const pips = snap.pips ?? {}
  if (!isObject(pips)) errors.push(`pips: expected an object whose keys are pip requirement lines, got ${describe(pips)}`)
  else if (Object.keys(pips).length) {
    const list = Object.keys(pips)
    warnings.push(`left out ${list.length} pip package(s) recorded in the snapshot (node requirements are collected from the nodes themselves): ${list.join(', ')}; add any you need to python.requirements`)
  }

  return partial(errors, nodes.length + nightly.length, warnings, () => ({ nodes: dedupeNodes(nodes, warnings), ...(comfyui ? { comfyui } : {}), ...(nightly.length ? { nightly } : {}), warnings }))
}

/**
 * One bad entry does not refuse the file: what can be imported is, and each entry left out is a warning with its
 * place and reason. Only a file with nothing usable left (and something wrong in it) is refused.
 */
function partial<T>(errors: string[], usable: number, warnings: string[], value: () => T): Result<T, string[]> {
  if (!errors.length) return ok(value())
  if (!usable) return err(errors)
  warnings.push(...errors.map(e => `left out ${e}`))
  return ok(value())
}

/**
 * Adds a node read from the import file: credentials removed from its URL, then checked against the spec schema, so a
 * bad entry is reported against the import file rather than the spec written from it.
 */
function nodeAdder(nodes: CustomNodeInput[], errors: string[], warnings: string[]) {
  return (node: CustomNodeInput, where: string) => {
    if ('repo' in node && typeof node.repo === 'string') {
      const { url, removed } = stripUrlCredentials(node.repo)
      if (removed) warnings.push(`${where}: ${CREDENTIALS_REMOVED}: ${url}`)
      const split = splitBrowserRepoUrl(url)
      node.repo = split.repo
      if (split.ref !== undefined) {
        if (node.ref !== undefined && node.ref !== split.ref) errors.push(`${where}: the URL shows ref "${split.ref}" (…/tree/${split.ref}) but "ref" is "${node.ref}"; keep one`)
        else if (node.ref === undefined && node.commit === undefined) {
          node.ref = split.ref
          warnings.push(`${where}: read the browser link ${url} as the repository ${split.repo} at ref ${split.ref}`)
        }
      }
    }
    const parsed = ('registry' in node ? RegistryNodeSchema : GitNodeSchema).safeParse(node, { reportInput: true })
    if (!parsed.success) errors.push(...parsed.error.issues.map(issue => `${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issueText(issue)}`))
    // An entry with any problem (here or found before it was added) is left out whole.
    if (!errors.some(e => e.startsWith(`${where}:`) || e.startsWith(`${where}.`))) nodes.push(node)
  }
}

const EXPECTED_WORDS: Record<string, string> = { string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'an object', array: 'a list' }

const issueText = (issue: { code: string; message: string; input?: unknown; expected?: unknown }) =>
  issue.code === 'invalid_type' ? `expected ${EXPECTED_WORDS[String(issue.expected)] ?? String(issue.expected)}, got ${describe(issue.input)}` : issue.message

/** The same repository listed twice is kept once; two repositories that would share a folder need a "name". */
export function dedupeNodes(nodes: CustomNodeInput[], warnings: string[]): CustomNodeInput[] {
  const byName = new Map<string, CustomNodeInput>()
  const out: CustomNodeInput[] = []
  for (const node of nodes) {
    const name = nodeName(node)
    const first = byName.get(name)
    if (!first) {
      byName.set(name, node)
      out.push(node)
    } else if (sameSource(first, node)) {
      warnings.push(`node "${name}" is listed more than once (${sourceOf(node)}); kept the first entry`)
    } else {
      // Both are kept: the spec then reports the duplicate name, and the user chooses a "name".
      warnings.push(`nodes ${sourceOf(first)} and ${sourceOf(node)} would both be installed as custom_nodes/${name}; set a distinct "name" on one of them`)
      out.push(node)
    }
  }
  return out
}

/** What a node is installed from: its repository, or `cnr:<id>`. */
const sourceOf = (node: CustomNodeInput): string => ('registry' in node ? `cnr:${node.registry}` : node.repo)
const sameSource = (a: CustomNodeInput, b: CustomNodeInput) =>
  'registry' in a || 'registry' in b ? sourceOf(a) === sourceOf(b) : sameRepository(a.repo, b.repo)

/** A registry version as ComfyUI-Manager normalises it (`2.5` is `2.5.0`); undefined when it is not one. */
export function registryVersion(text: string): string | undefined {
  const t = text.trim().replace(/^v/, '')
  if (/^\d+\.\d+\.\d+$/.test(t)) return t
  if (/^\d+\.\d+$/.test(t)) return `${t}.0`
  return undefined
}

/** `cnr:ID[@VERSION]` (as --node and add-node take it), or undefined when `arg` is not one. */
export function parseRegistryArg(arg: string): { registry: string; version?: string } | undefined {
  const m = /^cnr:([^@\s]*)(?:@(.*))?$/.exec(arg.trim())
  if (!m) return undefined
  return m[2] !== undefined && m[2] !== '' && m[2] !== 'latest' ? { registry: m[1]!, version: m[2] } : { registry: m[1]! }
}

// ---------------------------------------------------------------------------------------------------------------
// Models

/** ComfyUI-Manager's `save_path: "default"`: the models/ folder for an entry's `type` (matched case-insensitively). */
const DEFAULT_FOLDER_BY_TYPE: Record<string, string> = {
  checkpoints: 'checkpoints', checkpoint: 'checkpoints', unclip: 'checkpoints',
  text_encoders: 'text_encoders', clip: 'text_encoders',
  vae: 'vae',
  lora: 'loras',
  't2i-adapter': 'controlnet', 't2i-style': 'controlnet', controlnet: 'controlnet',
  clip_vision: 'clip_vision',
  gligen: 'gligen',
  upscale: 'upscale_models',
  embedding: 'embeddings', embeddings: 'embeddings',
  unet: 'diffusion_models', diffusion_model: 'diffusion_models',
}

/** The folder ComfyUI-Manager installs a model-list entry of this `type` into when its save_path is "default". */
export const defaultModelFolder = (type: string): string => DEFAULT_FOLDER_BY_TYPE[type.toLowerCase()] ?? 'etc'

const MODELS_EXPECTED = 'expected a JSON list of models ({"url", "path"}, ComfyUI-Manager model-list entries {"url", "save_path", "filename", "type"} or workflow entries {"url", "directory", "name"}), a {"models": [...]} object, or a UI-format workflow'

/**
 * Reads a `--models` file: a list of `{url, path}`, ComfyUI-Manager model-list entries (or model-list.json itself),
 * a workflow's `models` entries, or a whole UI-format workflow (its `models` and every node's `properties.models`).
 */
export function modelsFromFile(json: unknown): Result<ImportedModels, string[]> {
  return redacted(importModels(json))
}

function importModels(json: unknown): Result<ImportedModels, string[]> {
  const entries = modelEntries(json)
  if (!entries && isApiWorkflow(json)) {
    return err(['this is an API-format workflow, which carries no model URLs; use the UI-format workflow (the one the editor saves) or a list of {"url", "path"}'])
  }
  if (!entries) return err([`${MODELS_EXPECTED}; got ${describe(json)}`])
  const errors: string[] = []
  const warnings: string[] = []
  const models: ModelInput[] = []
  for (const { value, where } of entries) {
    const mine: string[] = []
    const model = modelFromEntry(value, where, mine, warnings)
    const parsed = model && ModelSchema.safeParse(model, { reportInput: true })
    if (parsed && !parsed.success) mine.push(...parsed.error.issues.map(issue => `${where} (${model.path}): ${issueText(issue)}`))
    if (model && !mine.length) models.push(model)
    errors.push(...mine)
  }
  return partial(errors, models.length, warnings, () => ({ models: dedupeModels(models, warnings), warnings }))
}

interface Entry { value: unknown; where: string }

const isApiWorkflow = (json: unknown): boolean =>
  isObject(json) && Object.keys(json).length > 0 && Object.values(json).every(n => isObject(n) && typeof n.class_type === 'string')

function modelEntries(json: unknown): Entry[] | undefined {
  const listed = (list: unknown[], prefix: string): Entry[] => list.map((value, i) => ({ value, where: `${prefix}[${i}]` }))
  if (Array.isArray(json)) return listed(json, 'entry ')
  if (!isObject(json)) return undefined
  const isWorkflow = Array.isArray(json.nodes)
  if (!isWorkflow) return Array.isArray(json.models) ? listed(json.models, 'models') : undefined
  // UI-format workflow: top-level models, then each node's properties.models (subgraphs included).
  const out: Entry[] = Array.isArray(json.models) ? listed(json.models, 'models') : []
  const visit = (nodes: unknown, prefix: string) => {
    if (!Array.isArray(nodes)) return
    nodes.forEach((node, i) => {
      const models = isObject(node) && isObject(node.properties) ? node.properties.models : undefined
      if (Array.isArray(models)) out.push(...listed(models, `${prefix}[${i}].properties.models`))
    })
  }
  visit(json.nodes, 'nodes')
  const subgraphs = isObject(json.definitions) ? json.definitions.subgraphs : undefined
  if (Array.isArray(subgraphs)) subgraphs.forEach((g, i) => isObject(g) && visit(g.nodes, `definitions.subgraphs[${i}].nodes`))
  return out
}

function modelFromEntry(value: unknown, where: string, errors: string[], warnings: string[]): ModelInput | undefined {
  if (!isObject(value)) {
    errors.push(`${where}: expected an object, got ${describe(value)}`)
    return undefined
  }
  const name = typeof value.name === 'string' ? ` ("${value.name}")` : ''
  const fail = (message: string) => { errors.push(`${where}${name}: ${message}`); return undefined }
  if (typeof value.url !== 'string' || !value.url) return fail('"url" is required')
  const stripped = stripUrlCredentials(value.url)
  if (stripped.removed) warnings.push(`${where}: ${stripped.presigned ? SIGNATURE_REMOVED : CREDENTIALS_REMOVED}: ${stripped.url}`)
  const verdict = modelPageVerdict(encodeSpaces(stripped.url, where, warnings))
  if (verdict.kind === 'page') return fail(`${stripped.url} is ${verdict.why}`)
  if (verdict.kind === 'rewritten') warnings.push(`${where}: changed the page link ${verdict.was} to the file's download link: ${verdict.url}`)
  const url = verdict.url

  let path: string
  if (value.path !== undefined) {
    if (typeof value.path !== 'string') return fail(`"path" must be a string, got ${describe(value.path)}`)
    path = value.path
  } else if (value.save_path !== undefined || value.directory !== undefined) {
    // Manager entries name the file in "filename" ("name" is a title); workflow entries name it in "name".
    const file = value.save_path !== undefined ? value.filename : (value.filename ?? value.name)
    if (typeof file !== 'string' || !file) return fail(`"filename" is required${value.save_path === undefined ? ' (or "name")' : ''}`)
    if (/[/\\:]/.test(file)) return fail(`filename "${file}" must not contain "/", "\\" or ":"`)
    const folder = value.save_path !== undefined ? managerFolder(value.save_path, value.type) : value.directory
    if (typeof folder !== 'string' || !folder) return fail(`${value.save_path !== undefined ? '"save_path"' : '"directory"'} must be a folder name, got ${describe(folder)}`)
    if (folder.startsWith('/') || folder.split(/[/\\]/).includes('..')) return fail(`folder "${folder}" must stay inside models/ (no ".." and no leading "/")`)
    // Manager puts these inside the node's own folder (custom_nodes/<pack>/...), which a spec's model paths
    // (relative to models/) cannot name yet; under models/custom_nodes/ the node would never find them.
    if (value.save_path !== undefined && /^custom_nodes[/\\]/.test(folder)) return fail(`save_path "${folder}" is inside a custom node's folder, where ComfyUI-Manager places it; a spec places models under models/ only, so it was not imported: download it into ComfyUI/${folder.replace(/\/+$/, '')}/ yourself, or ask the node's author for a models/ folder`)
    path = `${folder.replace(/\/+$/, '')}/${file}`
  } else {
    return fail('expected "path", or "save_path" and "filename" (ComfyUI-Manager), or "directory" and "name" (workflow)')
  }
  const unsafe = unsafePathReason(path)
  if (unsafe) return fail(`path "${path}" ${unsafe}`)

  const model: ModelInput = { path, url }
  const sha = workflowSha256(value)
  // A shorter "hash" (AutoV2's 10 characters, a CRC) names no file: the model stays, validate pins its sha256.
  if (sha && HEX64.test(sha)) model.sha256 = sha
  else if (sha) warnings.push(`${where}: left out the sha256 "${sha}", which is not 64 hex characters (validate or realize pins the real one)`)
  // Manager sizes are rounded text ("4.71MB"); only an exact byte count pins anything.
  if (typeof value.size === 'number') model.size = value.size
  return model
}

/** save_path "default" means the folder for the entry's type. */
function managerFolder(savePath: unknown, type: unknown): unknown {
  if (typeof savePath === 'string' && savePath.toLowerCase() === 'default') return defaultModelFolder(typeof type === 'string' ? type : '')
  return savePath
}

/** A sha256 given as `sha256`, or as a workflow's `hash` with `hash_type: "sha256"`. */
function workflowSha256(v: Loose): string | undefined {
  const candidate = typeof v.sha256 === 'string' ? v.sha256
    : typeof v.hash === 'string' && typeof v.hash_type === 'string' && v.hash_type.toLowerCase() === 'sha256' ? v.hash : undefined
  return candidate && HEX64.test(candidate) ? candidate.toLowerCase() : candidate
}

/** A space in a pasted URL is the file name's; browsers send it as %20, and so does the spec. */
function encodeSpaces(url: string, where: string, warnings: string[]): string {
  const trimmed = url.trim()
  if (!/\s/.test(trimmed)) return trimmed
  const fixed = trimmed.replace(/\s/g, c => encodeURIComponent(c))
  warnings.push(`${where}: encoded the spaces in the URL: ${fixed}`)
  return fixed
}

/** One entry per path; a workflow often lists a model twice, once with its hash, so a repeat may complete the first. */
function dedupeModels(models: ModelInput[], warnings: string[]): ModelInput[] {
  const byPath = new Map<string, ModelInput>()
  for (const m of models) {
    const first = byPath.get(m.path)
    if (!first) {
      byPath.set(m.path, { ...m })
      continue
    }
    if (first.url !== m.url) {
      warnings.push(`model "${m.path}" is listed more than once with different URLs; kept ${first.url} and dropped ${m.url}`)
      continue
    }
    if (first.sha256 && m.sha256 && first.sha256 !== m.sha256) {
      warnings.push(`model "${m.path}" is listed more than once with different sha256; kept ${first.sha256}`)
    }
    first.sha256 ??= m.sha256
    first.size ??= m.size
    if (first.sha256 === undefined) delete first.sha256
    if (first.size === undefined) delete first.size
    warnings.push(`model "${m.path}" is listed more than once; kept one entry`)
  }
  return [...byPath.values()]
}

// ---------------------------------------------------------------------------------------------------------------
// New specs

export interface NewSpecInput {
  id: string
  comfyui: { repo: string; ref?: string | undefined; commit?: string | undefined }
  nodes: CustomNodeInput[]
  models: ModelInput[]
  description?: string | undefined
}

/** A fresh spec, keys in the contract's order, pointing at the JSON Schema for editor completion. */
export function newSpec(input: NewSpecInput): SpecInput {
  return orderSpec({
    $schema: '../docs/version.schema.json',
    schema_version: SCHEMA_VERSION,
    id: input.id,
    description: input.description,
    comfyui: input.comfyui,
    custom_nodes: input.nodes,
    models: input.models,
  })
}

/** Two-space JSON with a trailing newline, keys in the contract's order. */
export function serializeSpec(spec: SpecInput): string {
  return `${JSON.stringify(orderSpec(spec), null, 2)}\n`
}

const ORDER = {
  root: ['$schema', 'schema_version', 'id', 'description', 'comfyui', 'custom_nodes', 'models', 'python', 'launch'],
  comfyui: ['repo', 'ref', 'commit'],
  node: ['name', 'repo', 'registry', 'ref', 'commit', 'version', 'sha256', 'enabled', 'install_script'],
  model: ['path', 'url', 'sha256', 'size'],
  python: ['version', 'requirements', 'constraints', 'overrides', 'blacklist', 'downgrade_blacklist', 'index_url', 'extra_index_urls', 'find_links', 'torch_backend', 'exclude_newer', 'on_conflict'],
  launch: ['port', 'listen', 'args', 'env', 'startup_timeout_s'],
}

/** Known keys first in their order, then any others as they came; undefined values dropped. */
function ordered<T>(value: T, keys: string[]): T {
  if (!isObject(value)) return value
  const out: Loose = {}
  for (const k of [...keys, ...Object.keys(value)]) if (!(k in out) && value[k] !== undefined) out[k] = value[k]
  return out as T
}

function orderSpec(spec: SpecInput): SpecInput {
  const out = ordered(spec, ORDER.root)
  if (out.comfyui) out.comfyui = ordered(out.comfyui, ORDER.comfyui)
  if (Array.isArray(out.custom_nodes)) out.custom_nodes = out.custom_nodes.map(n => ordered(n, ORDER.node))
  if (Array.isArray(out.models)) out.models = out.models.map(m => ordered(m, ORDER.model))
  if (out.python) out.python = ordered(out.python, ORDER.python)
  if (out.launch) out.launch = ordered(out.launch, ORDER.launch)
  return out
}
