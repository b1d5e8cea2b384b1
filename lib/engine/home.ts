import { mkdir, readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../util/atomic.ts'
import { err, ok, type Result } from '../result.ts'

/** The tool's own state in a realized home: proof that it created the folder, plus markers. */
export const STATE_DIR = '.comfy-vc'
const OWNER_FILE = 'home.json'

export interface HomeOwner { tool: 'comfy-vc'; version: string; created: string }

export async function readOwner(home: string): Promise<HomeOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(join(home, STATE_DIR, OWNER_FILE), 'utf8')) as HomeOwner
    return o.tool === 'comfy-vc' ? o : undefined
  } catch {
    return undefined
  }
}

/**
 * Makes sure `home` is a folder the tool may build in: absent or empty (then it is created and
 * stamped as ours), or stamped by an earlier run. A user's non-empty folder is refused.
 */
export async function claimHome(home: string, versionId: string): Promise<Result<{ created: boolean }, string>> {
  const owner = await readOwner(home)
  if (owner) {
    // One home may hold different versions over time (RunPod's /workspace/ComfyUI): note the latest.
    if (owner.version !== versionId) await writeOwner(home, { ...owner, version: versionId })
    return ok({ created: false })
  }
  const st = await stat(home).catch(() => undefined)
  if (st && !st.isDirectory()) return err(`${home} exists and is not a folder; choose another --home`)
  if (st && (await readdir(home)).length > 0) {
    return err(`${home} is not empty and was not created by comfy-vc; it is left untouched. Choose another --home (or COMFY_HOME), or empty that folder`)
  }
  await writeOwner(home, { tool: 'comfy-vc', version: versionId, created: new Date().toISOString() })
  return ok({ created: true })
}

async function writeOwner(home: string, owner: HomeOwner): Promise<void> {
  await mkdir(join(home, STATE_DIR), { recursive: true })
  await writeFileAtomic(join(home, STATE_DIR, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`)
}
