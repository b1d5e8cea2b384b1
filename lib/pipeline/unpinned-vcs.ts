import { ensureCommit } from '../git/ensure-commit.ts'
import { readFileAt } from '../git/read-file-at.ts'
import { collectRequirements, CORE_SOURCE, type NodeRequirements } from '../python/collect.ts'
import { isRegistryNode, nodeName } from '../spec/names.ts'
import type { Spec } from '../spec/schema.ts'
import type { ChildEnv } from '../util/exec.ts'

export interface UnpinnedVcs {
  /** Unpinned `git+https://` requirement lines, as `validate --check` lists them. */
  unpinned: { path: string; what: string }[]
  /** Requirement files that could not be read (offline without the commit, a host not answering). */
  notes: string[]
}

/**
 * `git+https://` requirements that name no commit, in the spec's `python.requirements` and in the requirements.txt
 * of the core and every enabled git node at its pinned commit, read from the git mirrors: a commit is fetched as
 * realize would (so a fresh CI cache is checked too), then only that file's blob; nothing is checked out. Collected by the same rules as collect-deps, so a
 * line an override or the blacklist removes is not reported.
 */
export async function unpinnedVcsRequirements(o: { spec: Spec; cacheRoot: string; offline: boolean; env: ChildEnv; signal: AbortSignal }): Promise<UnpinnedVcs> {
  const notes: string[] = []
  const show = async (label: string, repo: string, commit: string | undefined): Promise<string | undefined> => {
    if (!commit) return undefined
    const ensured = await ensureCommit({ cacheRoot: o.cacheRoot, url: repo, commit, offline: o.offline, env: o.env, signal: o.signal })
    if (!ensured.ok) { notes.push(`${label}: requirements.txt not read (${ensured.error.message})`); return undefined }
    const file = await readFileAt({ cacheRoot: o.cacheRoot, url: repo, commit, path: 'requirements.txt', offline: o.offline, env: o.env, signal: o.signal })
    if (!file.ok) { notes.push(`${label}: requirements.txt not read (${file.error.message})`); return undefined }
    return file.value
  }
  const nodes: NodeRequirements[] = await Promise.all(o.spec.custom_nodes.flatMap(n => isRegistryNode(n) || n.enabled === false ? [] : [n])
    .map(async n => ({ name: nodeName(n), text: await show(`node ${nodeName(n)}`, n.repo, n.commit) })))
  const coreText = await show('the ComfyUI core', o.spec.comfyui.repo, o.spec.comfyui.commit)
  const unpinned = o.spec.python.requirements.flatMap((line, i) =>
    collectRequirements({ nodes: [], rules: { requirements: [line] }, installed: new Map() }).unpinnedVcs
      .map(v => ({ path: `python.requirements[${i}]`, what: `"${v.requirement}" is a git+https:// requirement with no commit (add @<40-hex commit> to its URL)` })))
  // The spec's own lines were checked above; overrides and blacklists still apply to the files.
  const files = collectRequirements({ nodes, coreText, rules: { ...o.spec.python, requirements: [], constraints: [] }, installed: new Map() })
  for (const v of files.unpinnedVcs) {
    const where = v.source === CORE_SOURCE ? 'comfyui' : `custom_nodes[${o.spec.custom_nodes.findIndex(n => nodeName(n) === v.source)}]`
    const who = v.source === CORE_SOURCE ? 'the ComfyUI core' : `node ${v.source}`
    unpinned.push({ path: `${where}.commit`, what: `${who}'s requirements.txt has "${v.requirement}", a git+https:// requirement with no commit: what it installs changes whenever that branch moves (python.overrides can map the line to one with @<40-hex commit>)` })
  }
  return { unpinned, notes }
}
