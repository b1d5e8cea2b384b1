import { mkdir, readFile, readdir, stat } from 'node:fs/promises'
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
}

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
export async function claimHome(home: string, versionId: string): Promise<Result<{ created: boolean; owner: HomeOwner }, string>> {
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
    return err(`${home} is not empty and was not created by comfy-vc; it is left untouched. Choose another --home (or COMFY_HOME), or empty that folder`)
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

async function writeOwner(home: string, owner: HomeOwner): Promise<void> {
  const layout = homeLayout(home)
  await mkdir(layout.stateDir, { recursive: true })
  await writeFileAtomic(layout.ownerFile, `${JSON.stringify(owner, null, 2)}\n`)
}
