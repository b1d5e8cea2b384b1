import { readFileSync } from 'node:fs'
import { mkdir, readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { gitDirOf } from '../git/read-head.ts'
import { normalizeRepoUrl, withoutCredentials } from '../git/repo-url.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { homeLayout } from '../layout/home.ts'
import { err, ok, type Result } from '../result.ts'

/** The tool's stamp in a home it made (`.comfy-vc/home.json`): proof that it created the folder. */
export interface HomeOwner {
  tool: 'comfy-vc'
  version: string
  created: string
  /** False from the start of a realize that has work to do until one ends with every task done (absent: older homes). */
  complete?: boolean
  /**
   * Set when the tool took over a ComfyUI folder it did not create (`realize --adopt`): what was there then, as
   * home-relative paths (top-level entries and custom_nodes/ entries). `delete` never removes those.
   */
  adopted?: { at: string; entries: string[] }
}

/** `realize --adopt`: the spec's core, which the folder must hold a git checkout of. */
export interface AdoptRequest { coreRepo: string }

export async function readOwner(home: string): Promise<HomeOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(homeLayout(home).ownerFile, 'utf8')) as HomeOwner
    return o.tool === 'comfy-vc' ? o : undefined
  } catch {
    return undefined
  }
}


/**
 * Makes sure `home` is a folder the tool may build in: absent or empty (then it is created and
 * stamped as ours), or stamped by an earlier run. A user's non-empty folder is refused.
 */
export async function claimHome(home: string, versionId: string, adopt?: AdoptRequest): Promise<Result<{ created: boolean; owner: HomeOwner; adopted?: string[] }, string>> {
  const owner = await readOwner(home)
  if (owner) {
    // One home may hold different versions over time (RunPod's /workspace/ComfyUI): note the latest.
    if (owner.version === versionId) return ok({ created: false, owner })
    const switched = { ...owner, version: versionId, complete: false }
    await writeOwner(home, switched)
    return ok({ created: false, owner: switched })
  }
  const st = await stat(home).catch(() => undefined)
  if (st && !st.isDirectory()) return err(`${home} exists and is not a folder; choose another --home`)
  if (st && (await readdir(home)).length > 0) {
    if (!adopt) {
      return err(`${home} is not empty and was not created by comfy-vc; it is left untouched. To take over the ComfyUI in it (a pod's /workspace/ComfyUI, say), run realize with --adopt: what the spec names is brought to the spec, everything else stays. Or choose another --home (or COMFY_HOME)`)
    }
    const checkout = originOf(home)
    if (!checkout) return err(`${home} holds no git checkout of ComfyUI (no .git with an "origin" remote), so --adopt cannot take it over; choose another --home, or empty that folder`)
    if (normalizeRepoUrl(checkout) !== normalizeRepoUrl(adopt.coreRepo)) {
      return err(`${home} is a checkout of ${withoutCredentials(checkout)}, not of the spec's core ${withoutCredentials(adopt.coreRepo)}; --adopt takes over only a checkout of the spec's core (set comfyui.repo, or choose another --home)`)
    }
    const entries = await adoptedEntries(home)
    const owner: HomeOwner = { tool: 'comfy-vc', version: versionId, created: new Date().toISOString(), complete: false, adopted: { at: new Date().toISOString(), entries } }
    await writeOwner(home, owner)
    return ok({ created: false, owner, adopted: entries })
  }
  const created: HomeOwner = { tool: 'comfy-vc', version: versionId, created: new Date().toISOString(), complete: false }
  await writeOwner(home, created)
  return ok({ created: true, owner: created })
}

/** Records whether the home now holds its version whole (`list` shows it); writes only on a change. */
export async function markComplete(home: string, owner: HomeOwner, complete: boolean): Promise<HomeOwner> {
  if (owner.complete === complete) return owner
  const next = { ...owner, complete }
  await writeOwner(home, next)
  return next
}

/** The origin remote in a checkout's `.git/config`, read from the file (no git process), or undefined. */
function originOf(home: string): string | undefined {
  const gitDir = gitDirOf(home)
  if (!gitDir) return undefined
  let config: string
  try { config = readFileSync(join(gitDir, 'config'), 'utf8') } catch { return undefined }
  const section = /^\[remote "origin"\][^\n]*\n((?:(?!\[).*\n?)*)/m.exec(config)?.[1] ?? ''
  return /^\s*url\s*=\s*(.+?)\s*$/m.exec(section)?.[1]
}

/** What a folder holds when it is adopted: its top-level entries and those of custom_nodes/ (and .disabled/). */
async function adoptedEntries(home: string): Promise<string[]> {
  const top = await readdir(home)
  const nodes = await readdir(join(home, 'custom_nodes')).catch(() => [] as string[])
  const disabled = await readdir(join(home, 'custom_nodes', '.disabled')).catch(() => [] as string[])
  return [...top, ...nodes.map(n => `custom_nodes/${n}`), ...disabled.map(n => `custom_nodes/.disabled/${n}`)].sort()
}

async function writeOwner(home: string, owner: HomeOwner): Promise<void> {
  const layout = homeLayout(home)
  await mkdir(layout.stateDir, { recursive: true })
  await writeFileAtomic(layout.ownerFile, `${JSON.stringify(owner, null, 2)}\n`)
}
