import { lstat, readdir, rm, rmdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { homeFor } from '../lib/config/resolve.ts'
import { readOwner } from '../lib/engine/home.ts'
import { cacheLayout } from '../lib/layout/cache.ts'
import { homeLayout, STATE_DIR } from '../lib/layout/home.ts'
import { readLinkManifest } from '../lib/models/link.ts'
import { resolvedLockPath } from '../lib/pipeline/resolved-lock.ts'
import { displayPath } from '../lib/spec/load.ts'
import { errorsDocument } from '../lib/report/run-document.ts'
import { acquireLock, type Release } from '../lib/util/lock.ts'
import { processesRunningFrom } from '../lib/util/processes-in.ts'
import { bool, configFor, printJson, refuse, reportDiagnostics, versionId, EXIT, type Command, type Io } from './_cli.ts'

/** What ComfyUI keeps of the user's in a home: kept by delete unless --purge. */
const USER_FOLDERS = ['output', 'input', 'user']

const command: Command = {
  name: 'delete',
  summary: 'remove a realized home and its lock',
  locations: true,
  allowPositionals: 1,
  options: { 'remove-spec': { type: 'boolean' }, purge: { type: 'boolean' } },
  help: `Usage: npx tsx tasks delete <id> [--remove-spec] [--purge]

Removes the version's realized home, but only a home that comfy-vc created (it keeps its state in
<home>/.comfy-vc); a folder the tool did not create is never touched. Your files in it are kept:
output/, input/ and user/ (images, uploads, saved workflows and settings) and model files you put
into models/ yourself; delete names each one it kept. Also removes the resolved lock from the
cache. Shared caches (git mirrors, the model store) are kept: other versions use them.
A home taken over with \`realize --adopt\` keeps everything that was there when it was adopted: only
what the tool added (its environment, nodes, and its .comfy-vc folder) is removed.
Refused (exit 1, nothing deleted) while a realize holds the home or a ComfyUI started from the
home's environment (run-ui, run-handler, serve) runs in it.

  --purge         also remove your files in a home the tool created (output/, input/, user/, your models)
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
    let release: Release | undefined
    if (owner) {
      // Taken for the whole delete, so no realize starts in the home half-way through.
      const held = await tryHomeLock(cacheLayout(config.cacheRoot).homeLock(home))
      if (typeof held === 'string') return busy(io, json, id, `a realize is building ${home} (the home's lock is ${held}); nothing was deleted: wait for it to end, or stop it`)
      release = held
      const running = await processesRunningFrom(homeLayout(home).venv)
      if (running.length) {
        await release()
        const list = running.map(p => `pid ${p.pid}: ${p.command}`).join('; ')
        return busy(io, json, id, `ComfyUI started by comfy-vc runs in ${home} (${list}); nothing was deleted: stop it first (Ctrl-C where run-ui or serve runs, or kill ${running.map(p => p.pid).join(' ')})`)
      }
    }
    const removed: string[] = []
    const kept: string[] = []
    try {
      if (owner?.adopted) removed.push(...await removeWhatTheToolAdded(home, owner.adopted.entries))
      else if (owner && bool(args, 'purge')) { await rm(home, { recursive: true, force: true }); removed.push(home) }
      else if (owner) {
        const result = await removeKeepingUserFiles(home)
        removed.push(...result.removed)
        kept.push(...result.kept)
      }
    } finally { await release?.() }
    const lock = resolvedLockPath(config.cacheRoot, id)
    if (await stat(lock).then(() => true, () => false)) { await rm(lock, { force: true }); removed.push(lock) }
    if (bool(args, 'remove-spec')) {
      const spec = join(config.versionsDir, `${id}.json`)
      if (await stat(spec).then(() => true, () => false)) { await rm(spec); removed.push(spec) }
    }
    io.err(removed.length ? removed.map(p => `removed ${displayPath(p, io.cwd)}`).join('\n') : `nothing to delete for ${id}`)
    if (kept.length) {
      io.err(`kept your files in ${home}: ${kept.join(', ')}\n(move them elsewhere before realizing ${id} there again, or add --purge to remove them too)`)
    }
    if (owner?.adopted && bool(args, 'purge')) io.err(`--purge leaves what was in ${home} before \`realize --adopt\` took it over: the tool did not make it`)
    if (json) printJson(io, { ok: true, version: id, removed, kept: kept.map(k => join(home, k)) })
    return EXIT.ok
  },
}
export default command

/** The home is in use: exit 1 (the state of the machine, not a usage error), nothing deleted. */
function busy(io: Io, json: boolean, id: string, message: string): number {
  io.err(message)
  if (json) printJson(io, errorsDocument([message], { version: id }))
  return EXIT.failed
}

/**
 * The home's lock, taken without waiting: a lock whose owner is gone is taken over (acquireLock does that at once),
 * one held by a live process is not waited for. Returns who holds it when it is held.
 */
async function tryHomeLock(path: string): Promise<Release | string> {
  const stop = new AbortController()
  let holder = 'held by another process'
  try {
    return await acquireLock(path, {
      signal: stop.signal, noticeAfterMs: 0,
      onWait: line => { holder = /held by (pid \d+ on host \S+)/.exec(line)?.[0] ?? holder; stop.abort() },
    })
  } catch (e) {
    if (stop.signal.aborted) return holder
    throw e
  }
}

/**
 * In a home the tool created: everything but output/, input/, user/ and the files in models/ that are not the
 * tool's links (links.json names those). What it kept is returned as home-relative paths.
 */
async function removeKeepingUserFiles(home: string): Promise<{ removed: string[]; kept: string[] }> {
  const layout = homeLayout(home)
  const links = new Set((await readLinkManifest(layout.linksFile)).map(r => r.path))
  const kept: string[] = []
  const userModels = async (rel: string): Promise<boolean> => {
    let any = false
    for (const e of await readdir(join(layout.models, rel), { withFileTypes: true }).catch(() => [])) {
      const path = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) { if (await userModels(path)) any = true; else await rm(join(layout.models, path), { recursive: true, force: true }); continue }
      // The core's placeholders (put_checkpoints_here) are its files, not the user's.
      if (links.has(path) || e.name.startsWith('put_')) { await rm(join(layout.models, path), { force: true }); continue }
      kept.push(`models/${path}`)
      any = true
    }
    return any
  }
  const entries = await readdir(home).catch(() => [] as string[])
  const keepModels = entries.includes('models') && await userModels('')
  const keep = new Set([...USER_FOLDERS.filter(f => entries.includes(f)), ...(keepModels ? ['models'] : [])])
  if (!keep.size) { await rm(home, { recursive: true, force: true }); return { removed: [home], kept: [] } }
  const removed: string[] = []
  // The state folder last: until then the home is still recognisably the tool's, should this be interrupted.
  for (const e of [...entries.filter(e => e !== STATE_DIR), STATE_DIR]) {
    if (keep.has(e) || !(await lstat(join(home, e)).then(() => true, () => false))) continue
    await rm(join(home, e), { recursive: true, force: true })
    removed.push(join(home, e))
  }
  kept.unshift(...USER_FOLDERS.filter(f => keep.has(f)).map(f => `${f}/`))
  await rmdir(layout.models).catch(() => undefined) // only when nothing of the user's is left in it
  return { removed, kept }
}

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
