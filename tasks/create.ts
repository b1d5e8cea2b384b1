import { mkdir, readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../lib/util/atomic.ts'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { dedupeNodes, modelsFromFile, newSpec, nodesFromFile, serializeSpec, type CustomNodeInput, type ModelInput } from '../lib/spec/importers.ts'
import { parseNodeArg, parseRepoNodeArg } from '../lib/spec/node-arg.ts'
import { schemaRef } from '../lib/spec/schema-ref.ts'
import { displayPath } from '../lib/spec/load.ts'
import { embeddedWorkflow, imageKind } from '../lib/spec/embedded-workflow.ts'
import { parseSpecText } from '../lib/spec/parse-spec.ts'
import { bool, configFor, list, printJson, refuse, reportDiagnostics, str, versionId, EXIT, UsageError, type Command, type Io } from './_cli.ts'

export const DEFAULT_CORE = 'https://github.com/comfyanonymous/ComfyUI@master'

const command: Command = {
  name: 'create',
  summary: 'write versions/<id>.json',
  locations: true,
  allowPositionals: 1,
  options: {
    repo: { type: 'string' }, node: { type: 'string', multiple: true }, nodes: { type: 'string' }, models: { type: 'string' },
    'from-snapshot': { type: 'string' }, 'from-home': { type: 'string' }, hashes: { type: 'boolean' },
    workflow: { type: 'string' }, description: { type: 'string' }, force: { type: 'boolean' },
  },
  help: `Usage: npx tsx tasks create <id> [--repo URL[@REF]] [--node URL[@REF] | cnr:ID[@VER]]... [--nodes FILE]
                              [--models FILE] [--workflow FILE] [--from-snapshot FILE]
                              [--from-home DIR [--hashes]] [--description TEXT] [--force]

Writes versions/<id>.json. Needs no network (but for a snapshot's "nightly" registry nodes, whose git
repository the Comfy Registry names): refs, versions and hashes are pinned later by \`validate <id>\`.

  --repo URL[@REF]      the ComfyUI core (default ${DEFAULT_CORE})
  --node URL[@REF]      a custom node from git; repeat for more
  --node cnr:ID[@VER]   a custom node from the Comfy Registry (e.g. cnr:comfyui-kjnodes@1.1.0;
                        without a version validate pins the latest)
  --nodes FILE          a JSON list of node entries ({"repo", "ref", "commit", "name", ...} or "URL@REF"),
                        or a ComfyUI-Manager snapshot: git nodes pinned to their hashes, registry (CNR)
                        nodes at their versions ("nightly" ones as git nodes of the repository the
                        registry names); file nodes and pips are listed and left out; its core commit
                        is not used: the core stays as --repo says
  --from-snapshot FILE  a snapshot: ComfyUI-Manager's (.json, or .yaml as cm-cli save-snapshot writes
                        it), comfy-pack's snapshot.json (with its models) or a Comfy Desktop export;
                        its core commit and its nodes, as --nodes reads them
  --from-home DIR       an existing ComfyUI folder (a pod's /workspace/ComfyUI): the core's remote and
                        commit, git nodes with theirs, registry nodes from .tracking and pyproject.toml,
                        disabled nodes, model files with their sizes (as file:// URLs of this machine);
                        what cannot be pinned is named. Then: validate, and realize <id> --adopt --home DIR
  --hashes              with --from-home: also the sha256 of every model file (reads them all)
  --models FILE         a JSON list of {url, path}, ComfyUI-Manager model-list entries
                        ({url, save_path, filename, type}) or a workflow's models ({name, url, directory})
  --workflow FILE       a UI-format workflow (.json, or a PNG or WebP image ComfyUI saved with it):
                        its node packs (registry ids and GitHub repos at the versions it records) and
                        its models; --nodes and --models read such files too, for one half each
  Entries that cannot be imported are left out, each named in a warning; a file with nothing
  usable in it is refused (exit 2).
  --description TEXT    a description stored in the spec
  --force               overwrite an existing spec`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const config = await configFor(args, io)
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const file = join(config.versionsDir, `${id}.json`)
    if (existsSync(file) && !bool(args, 'force')) {
      return refuse(io, json, `${displayPath(file, io.cwd)} already exists; pass --force to overwrite it`, { version: id })
    }
    const warnings: string[] = []
    const problems: string[] = []
    // A spec is shared and committed: credentials in a URL never go into it.
    const repoArg = (arg: string, flag: string) => {
      const r = parseRepoNodeArg(arg, flag)
      if (!r.ok) throw new UsageError(r.error)
      warnings.push(...r.value.warnings)
      return r.value.repo
    }
    const fromHome = str(args, 'from-home')
    if (bool(args, 'hashes') && !fromHome) throw new UsageError('--hashes goes with --from-home DIR (the model files it hashes)')
    const described = fromHome ? await describeFromHome(io, fromHome, bool(args, 'hashes')) : undefined
    const core = described && !str(args, 'repo') ? { repo: described.comfyui.repo } : repoArg(str(args, 'repo') ?? DEFAULT_CORE, '--repo')
    let coreCommit: string | undefined = described?.comfyui.commit
    if (described) warnings.push(...described.warnings.map(w => `${fromHome}: ${w}`))
    const nodes: CustomNodeInput[] = list(args, 'node').map(arg => {
      const r = parseNodeArg(arg, '--node')
      if (!r.ok) throw new UsageError(r.error)
      warnings.push(...r.value.warnings)
      return r.value.node
    })
    const models: ModelInput[] = [...described?.models ?? []]
    for (const flag of ['from-snapshot', 'nodes', 'workflow'] as const) {
      const path = str(args, flag)
      if (!path) continue
      const data = await readJsonFile(io, path, `--${flag}`)
      const r = nodesFromFile(data)
      if (!r.ok) { problems.push(...r.error.map(e => `${path}: ${e}`)); continue }
      nodes.push(...r.value.nodes)
      // comfy-pack's snapshot lists its models with their URLs: they belong to the same environment.
      if (r.value.models && flag !== 'nodes') models.push(...r.value.models)
      warnings.push(...r.value.warnings.map(w => `${path}: ${w}`))
      for (const id of r.value.nightly ?? []) {
        const repo = await nightlyRepository(id, config.registryUrl, io.signal)
        if (typeof repo === 'string') nodes.push({ repo, name: id })
        else warnings.push(`${path}: left out ${id} (nightly, a git clone): ${repo.why}; add it with --node URL@REF`)
      }
      const snapshotCore = r.value.comfyui?.commit ?? r.value.comfyui?.ref
      if (flag === 'from-snapshot') {
        if (r.value.comfyui?.commit) coreCommit = r.value.comfyui.commit
        else if (snapshotCore) core.ref = snapshotCore // a short hash: validate resolves it
        else warnings.push(`${path}: the snapshot has no ComfyUI commit; the core stays at ${core.ref ?? 'its default branch'}`)
      } else if (snapshotCore) {
        // --nodes takes nodes only: the core stays as --repo says.
        warnings.push(`${path}: the snapshot's ComfyUI commit ${snapshotCore.slice(0, 10)} is not used (--from-snapshot ${path} pins the core to it)`)
      }
    }
    if (described) nodes.push(...described.nodes)
    for (const flag of ['models', 'workflow'] as const) {
      const modelsPath = str(args, flag)
      if (!modelsPath) continue
      const r = modelsFromFile(await readJsonFile(io, modelsPath, `--${flag}`))
      // A workflow without model URLs is still a workflow: its nodes were imported above.
      if (!r.ok && flag === 'workflow') warnings.push(...r.error.map(e => `${modelsPath}: no models imported: ${e}`))
      else if (!r.ok) problems.push(...r.error.map(e => `${modelsPath}: ${e}`))
      else { models.push(...r.value.models); warnings.push(...r.value.warnings.map(w => `${modelsPath}: ${w}`)) }
    }
    if (problems.length) return refuse(io, json, problems, { version: id })
    // --node flags, a snapshot and a node list may name the same repository: it is kept once.
    const unique = dedupeNodes(nodes, warnings)
    const spec = newSpec({ id, comfyui: { ...core, commit: coreCommit }, nodes: unique, models, description: str(args, 'description') })
    // The schema's path from where this spec is: the default '../docs/...' only holds inside this repository.
    spec.$schema = schemaRef(resolve(config.versionsDir))
    const text = serializeSpec(spec)
    const check = parseSpecText(text, file, id)
    if (!check.ok) {
      for (const w of warnings) io.err(`warning: ${w}`)
      const code = reportDiagnostics(io, check.error, json, { version: id })
      io.err(`nothing was written to ${displayPath(file, io.cwd)}`)
      return code
    }
    for (const w of warnings) io.err(`warning: ${w}`)
    await mkdir(config.versionsDir, { recursive: true })
    await writeFileAtomic(file, text) // a kill mid-write must not leave a truncated spec
    io.err(`wrote ${displayPath(file, io.cwd)}: ComfyUI ${core.ref ?? ''}${coreCommit ? ` @ ${coreCommit.slice(0, 10)}` : ''}, ${unique.length} node(s), ${models.length} model(s)`)
    io.err(`next: npx tsx tasks validate ${id}   (pins refs to commits and models to sha256)`)
    if (fromHome) io.err(`then: npx tsx tasks realize ${id} --adopt --home ${fromHome}   (takes the folder over; what the spec does not name stays)`)
    if (json) printJson(io, { ok: true, version: id, file: resolve(file), warnings, nodes: unique.length, models: models.length })
    return EXIT.ok
  },
}
export default command

/** The git repository the registry names for a node the snapshot holds as a clone ("nightly" or "unknown"). */
async function nightlyRepository(id: string, registryUrl: string, signal: AbortSignal): Promise<string | { why: string }> {
  const { registryNode } = await import('../lib/registry/client.ts')
  const node = await registryNode(id, { baseUrl: registryUrl, signal })
  if (!node.ok) return { why: node.error.reason === 'unknown-node' ? 'the registry does not know it' : node.error.message }
  return node.value.repository ?? { why: 'the registry names no repository for it' }
}

/** `--from-home DIR`: the folder described (a folder that is not a ComfyUI checkout is a usage error). */
async function describeFromHome(io: Io, dir: string, hashes: boolean) {
  const { describeHome } = await import('../lib/pipeline/describe-home.ts')
  const r = await describeHome(resolve(io.cwd, dir), { hashes, run: { env: io.env, signal: io.signal } })
  if (!r.ok) throw new UsageError(`--from-home ${dir}: ${r.error}`)
  return r.value
}

/** An import file's data: JSON, or the workflow embedded in a PNG or WebP image as ComfyUI saves it. */
async function readJsonFile(io: Io, path: string, flag: string): Promise<unknown> {
  let bytes: Buffer
  try {
    bytes = await readFile(resolve(io.cwd, path))
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  let text = bytes.toString('utf8')
  const image = imageKind(bytes)
  if (image) {
    const found = embeddedWorkflow(bytes)
    if (!found.ok) throw new UsageError(`${flag} ${path}: ${found.error}`)
    if (!found.value.workflow) {
      throw new UsageError(`${flag} ${path}: the ${image.toUpperCase()} image holds no ComfyUI workflow${found.value.prompt ? ' (only the API prompt, which names no node packs and no model URLs)' : ''}; it was saved without metadata (--disable-metadata) or by a tool that strips it: export the workflow from ComfyUI (Workflow > Export) and pass that file`)
    }
    text = found.value.workflow
  }
  if (!image && /\.ya?ml$/i.test(path)) {
    const { parse } = await import('yaml')
    try {
      return parse(text.replace(/^\uFEFF/, ''))
    } catch (e) {
      throw new UsageError(`${flag} ${path}: not valid YAML (${(e as Error).message.split('\n')[0]})`)
    }
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${image ? `the workflow embedded in the ${image.toUpperCase()} image is ` : ''}not valid JSON (${(e as Error).message})`)
  }
}
