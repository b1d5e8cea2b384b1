import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../lib/util/atomic.ts'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { loadSpecFile, displayPath } from '../lib/spec/load.ts'
import { parseSpecText } from '../lib/spec/parse-spec.ts'
import { renameId } from '../lib/spec/rewrite.ts'
import { bool, configFor, printJson, refuse, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'

const command: Command = {
  name: 'clone',
  summary: 'copy a spec under a new id',
  locations: true,
  allowPositionals: 2,
  options: { force: { type: 'boolean' } },
  help: `Usage: npx tsx tasks clone <src> <dst> [--force]

Copies versions/<src>.json to versions/<dst>.json with the new id, formatting kept.
Refuses to overwrite an existing spec without --force. The realized home is not copied.`,
  async run(args, io) {
    const src = versionId(args, 0, '<src>')
    const dst = versionId(args, 1, '<dst>')
    const json = bool(args, 'json')
    const config = await configFor(args, io)
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const from = join(config.versionsDir, `${src}.json`)
    const to = join(config.versionsDir, `${dst}.json`)
    const loaded = await loadSpecFile(from)
    if (!loaded.ok) return reportDiagnostics(io, loaded.error, json)
    if (existsSync(to) && !bool(args, 'force')) {
      return refuse(io, json, `${displayPath(to, io.cwd)} already exists; pass --force to overwrite it`, { version: dst })
    }
    const text = renameId(await readFile(from, 'utf8'), dst)
    const check = parseSpecText(text, to, dst)
    if (!check.ok) return reportDiagnostics(io, check.error, json)
    await writeFileAtomic(to, text) // a kill mid-write must not leave a truncated spec
    io.err(`wrote ${displayPath(to, io.cwd)} (a copy of ${src})`)
    if (json) printJson(io, { ok: true, version: dst, from: src, file: to })
    return EXIT.ok
  },
}
export default command
