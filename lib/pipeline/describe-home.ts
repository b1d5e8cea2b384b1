import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { homeLayout } from '../layout/home.ts'
import { runGit, type GitRun } from '../git/run-git.ts'
import { localModifications } from '../git/local-modifications.ts'
import { withoutCredentials } from '../git/repo-url.ts'
import { hashFile } from '../models/store.ts'
import { nodeName } from '../spec/names.ts'
import type { CustomNodeInput, ModelInput } from '../spec/importers.ts'
import { registryVersion } from '../spec/importers.ts'
import { TRACKING_FILE } from '../registry/place-pack.ts'
import { err, ok, type Result } from '../result.ts'

export interface DescribedHome {
  comfyui: { repo: string; commit: string }
  nodes: CustomNodeInput[]
  models: ModelInput[]
  warnings: string[]
}

/** Files ComfyUI ships in its empty model folders, and the like: not models. */
const NOT_MODELS = /^(put_.*_here|\.gitkeep|\.gitignore|README(\.md)?)$/i

/**
 * What an existing ComfyUI folder holds, as spec entries (`create --from-home`): the core's remote and commit, every
 * git node's remote and commit, registry nodes from `.tracking` and `pyproject.toml` (as ComfyUI-Manager recognises
 * them), disabled nodes, and the model files with their sizes (and sha256 with `hashes`). A model's URL is not known,
 * so it is the file itself (file://): validate and realize take it into the store from there. What cannot be pinned
 * is named in warnings.
 */
export async function describeHome(dir: string, o: { hashes: boolean; run: GitRun }): Promise<Result<DescribedHome, string>> {
  const layout = homeLayout(dir)
  const warnings: string[] = []
  const core = await gitCheckout(dir, o.run)
  if (!core) return err(`${dir} is not a git checkout of ComfyUI (no .git with an "origin" remote and a commit); create --from-home reads an existing ComfyUI folder`)
  if (core.modified.length) warnings.push(`the core checkout has local changes (${shown(core.modified)}); the spec pins its commit, and realize --adopt keeps them only without --force`)
  const nodes: CustomNodeInput[] = []
  for (const [folder, enabled] of [[layout.customNodes, true], [join(layout.customNodes, '.disabled'), false]] as const) {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const where = `${relative(dir, folder)}/${entry.name}`
      if (entry.name === '__pycache__' || entry.name === '.disabled' || entry.name.endsWith('.example')) continue
      if (!entry.isDirectory()) {
        if (entry.name.endsWith('.py')) warnings.push(`${where}: a single-file node is not a git repository or a registry pack; left out (put it in a git repository to pin it)`)
        continue
      }
      const node = await describeNode(join(folder, entry.name), entry.name, enabled, o.run, warnings, where)
      if (node) nodes.push(node)
    }
  }
  const models: ModelInput[] = []
  for (const file of await walkFiles(layout.models)) {
    if (NOT_MODELS.test(basename(file))) continue
    const st = await stat(file).catch(() => undefined)
    if (!st?.isFile()) continue
    const model: ModelInput = { path: relative(layout.models, file).split('\\').join('/'), url: pathToFileURL(file).href, size: st.size }
    if (o.hashes) model.sha256 = (await hashFile(file)).sha256
    models.push(model)
  }
  if (models.length) warnings.push(`${models.length} model file(s) are listed with file:// URLs of this machine (their source is not recorded in a ComfyUI folder); replace them with download URLs to realize the spec elsewhere`)
  return ok({ comfyui: { repo: core.remote, commit: core.commit }, nodes, models, warnings })
}

async function describeNode(path: string, folder: string, enabled: boolean, run: GitRun, warnings: string[], where: string): Promise<CustomNodeInput | undefined> {
  const git = await gitCheckout(path, run)
  if (git) {
    if (git.modified.length) warnings.push(`${where}: local changes (${shown(git.modified)}) are not in the spec; the spec pins its commit`)
    const node: CustomNodeInput = { repo: git.remote, commit: git.commit }
    // Manager names a disabled git pack `<id>` or `<id>@nightly` under .disabled/.
    const name = folder.replace(/@nightly$/, '')
    if (nodeName(node) !== name) node.name = name
    if (!enabled) node.enabled = false
    return node
  }
  const tracked = await stat(join(path, TRACKING_FILE)).then(() => true, () => false)
  const project = await readFile(join(path, 'pyproject.toml'), 'utf8').then(projectFields, () => undefined)
  if (tracked && project?.name) {
    // A disabled registry pack is `.disabled/<id>@<version with _ for .>`.
    const [folderName, folderVersion] = folder.split('@') as [string, string | undefined]
    const version = registryVersion(folderVersion?.replace(/_/g, '.') ?? project.version ?? '')
    const node: CustomNodeInput = { registry: project.name.trim().toLowerCase(), ...(version ? { version } : {}) }
    if (nodeName(node) !== folderName) node.name = folderName
    if (!enabled) node.enabled = false
    if (!version) warnings.push(`${where}: registry pack ${node.registry} has no X.Y.Z version in pyproject.toml; validate pins the latest`)
    return node
  }
  warnings.push(`${where}: neither a git checkout nor a registry install (.tracking and pyproject.toml); left out`)
  return undefined
}

/** A checkout's origin remote (credentials removed), HEAD commit and modified tracked files; undefined when it is not one. */
async function gitCheckout(dir: string, run: GitRun): Promise<{ remote: string; commit: string; modified: string[] } | undefined> {
  if (!(await stat(join(dir, '.git')).then(() => true, () => false))) return undefined
  const [remote, head] = await Promise.all([
    runGit(['config', '--get', 'remote.origin.url'], { ...run, cwd: dir }),
    runGit(['rev-parse', '--verify', 'HEAD'], { ...run, cwd: dir }),
  ])
  const url = remote.stdout.trim(), commit = head.stdout.trim()
  if (remote.exitCode !== 0 || head.exitCode !== 0 || !url || !/^[0-9a-f]{40}$/.test(commit)) return undefined
  const modified = await localModifications(dir, run)
  return { remote: withoutCredentials(url), commit, modified: modified.ok ? modified.value : [] }
}

/** `[project]` name and version of a pyproject.toml (the two keys Manager reads; a full TOML parser is not needed). */
function projectFields(text: string): { name?: string; version?: string } {
  const section = /^\[project\][^\S\n]*\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(text)?.[1] ?? ''
  const field = (key: string) => new RegExp(`^${key}\\s*=\\s*["']([^"']*)["']`, 'm').exec(section)?.[1]
  const name = field('name'), version = field('version')
  return { ...(name ? { name } : {}), ...(version ? { version } : {}) }
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await walkFiles(path))
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(path)
  }
  return out.sort()
}

const shown = (list: string[]) => (list.length > 3 ? `${list.slice(0, 3).join(', ')} and ${list.length - 3} more` : list.join(', '))
