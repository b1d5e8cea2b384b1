import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { homeFor } from '../lib/config/resolve.ts'
import { readOwner } from '../lib/engine/home.ts'
import { STATE_DIR } from '../lib/layout/home.ts'
import { resolvedLockPath } from '../lib/pipeline/resolved-lock.ts'
import { displayPath } from '../lib/spec/load.ts'
import { bool, configFor, printJson, refuse, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'

const command: Command = {
  name: 'delete',
  summary: 'remove a realized home and its lock',
  locations: true,
  allowPositionals: 1,
  options: { 'remove-spec': { type: 'boolean' } },
  help: `Usage: npx tsx tasks delete <id> [--remove-spec]

Removes the version's realized home, but only a home that comfy-vc created (it keeps its state in
<home>/.comfy-vc); a folder the tool did not create is never touched. Also removes the resolved
lock from the cache. Shared caches (git mirrors, the model store) are kept: other versions use them.
A home taken over with \`realize --adopt\` keeps everything that was there when it was adopted: only
what the tool added (its environment, nodes, and its .comfy-vc folder) is removed.

  --remove-spec   also delete versions/<id>.json`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const config = await configFor(args, io)
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const home = homeFor(config, id)
    const owner = await readOwner(home)
    const exists = await stat(home).then(() => true, () => false)
    if (exists && !owner) {
      return refuse(io, json, `${home} was not created by comfy-vc; it is left untouched (nothing was deleted)`, { version: id })
    }
    if (owner && owner.version !== id) {
      return refuse(io, json, `${home} now holds version "${owner.version}", not "${id}"; nothing was deleted (delete ${owner.version} instead)`, { version: id })
    }
    const removed: string[] = []
    if (owner?.adopted) removed.push(...await removeWhatTheToolAdded(home, owner.adopted.entries))
    else if (owner) { await rm(home, { recursive: true, force: true }); removed.push(home) }
    const lock = resolvedLockPath(config.cacheRoot, id)
    if (await stat(lock).then(() => true, () => false)) { await rm(lock, { force: true }); removed.push(lock) }
    if (bool(args, 'remove-spec')) {
      const spec = join(config.versionsDir, `${id}.json`)
      if (await stat(spec).then(() => true, () => false)) { await rm(spec); removed.push(spec) }
    }
    io.err(removed.length ? removed.map(p => `removed ${displayPath(p, io.cwd)}`).join('\n') : `nothing to delete for ${id}`)
    if (json) printJson(io, { ok: true, version: id, removed })
    return EXIT.ok
  },
}
export default command

/** In an adopted home: the tool's folder, and the environment and nodes that were not there when it was adopted. */
async function removeWhatTheToolAdded(home: string, before: readonly string[]): Promise<string[]> {
  const kept = new Set(before)
  const candidates = ['.venv', ...(await readdir(join(home, 'custom_nodes')).catch(() => [] as string[])).map(n => `custom_nodes/${n}`),
    ...(await readdir(join(home, 'custom_nodes', '.disabled')).catch(() => [] as string[])).map(n => `custom_nodes/.disabled/${n}`)]
  const removed: string[] = []
  for (const entry of candidates) {
    if (kept.has(entry) || entry === 'custom_nodes/.disabled') continue
    const path = join(home, entry)
    if (!(await stat(path).then(() => true, () => false))) continue
    await rm(path, { recursive: true, force: true })
    removed.push(path)
  }
  await rm(join(home, STATE_DIR), { recursive: true, force: true })
  removed.push(join(home, STATE_DIR))
  return removed
}
