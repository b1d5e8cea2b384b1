import { displayPath } from '../lib/spec/load.ts'
import { unpinned } from '../lib/pipeline/prepare.ts'
import { validateSpec } from '../lib/pipeline/validate.ts'
import { unpinnedVcsRequirements } from '../lib/pipeline/unpinned-vcs.ts'
import { pinCheckDocument, validateDocument, validateSummary } from '../lib/report/validate-document.ts'
import { loadForEdit } from './_spec-edit.ts'
import { bool, printJson, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'

const command: Command = {
  name: 'validate',
  summary: 'check a spec and pin it',
  locations: true,
  allowPositionals: 1,
  options: { update: { type: 'boolean' }, check: { type: 'boolean' }, offline: { type: 'boolean' } },
  help: `Usage: npx tsx tasks validate <id> [--update] [--check] [--offline] [--json]

Checks versions/<id>.json and pins it: every ref (branch, tag, short sha) is resolved to a full
commit through the shared git mirrors, and models get their size and, where the host publishes it
(Hugging Face) or the model store already has the file, their sha256. The pins are written into the
spec, keeping its key order and formatting, and the resolved lock into the cache. No model is
downloaded. HEAD is best effort: a host that refuses it (405, 403, 401) or does not answer it in
time leaves the model unpinned with a note (exit 0). A ref that does not exist, or a model URL
that names nothing (404, 410, a file:// path that does not exist) is a spec error (exit 2); a host
that cannot be reached at all, exit 1.

  --update    re-resolve refs that are already pinned (follow the branch to its newest commit)
  --check     write nothing; exit 1 when anything is unpinned (for CI), git+https://
              requirement lines of the spec and its nodes without a commit included
  --offline   use the mirrors and the store only`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    const target = await loadForEdit(args, io, id, json, { offline: bool(args, 'offline') || undefined })
    if (typeof target === 'number') return target
    const { config, loaded, shown: file } = target
    if (bool(args, 'check')) {
      const pinnable = unpinned(loaded.spec)
      const vcs = await unpinnedVcsRequirements({ spec: loaded.spec, cacheRoot: config.cacheRoot, offline: config.offline, env: io.env, signal: io.signal })
      const missing = [...pinnable, ...vcs.unpinned]
      for (const m of missing) io.err(`${file}: ${m.path}: ${m.what}`)
      for (const n of vcs.notes) io.err(`note: ${n}`)
      if (pinnable.length) io.err(`${pinnable.length} thing(s) unpinned; \`validate ${id}\` (without --check) pins them`)
      if (vcs.unpinned.length) io.err(`${vcs.unpinned.length} git+https:// requirement(s) with no commit; validate cannot pin these: give each URL an @<40-hex commit>`)
      if (!missing.length) io.err(`${file}: valid and fully pinned`)
      if (json) printJson(io, pinCheckDocument(id, missing))
      return missing.length ? EXIT.failed : EXIT.ok
    }
    const r = await validateSpec({ loaded, config, update: bool(args, 'update'), signal: io.signal, env: io.env, onWait: line => io.err(line) })
    if (r.diagnostics.length) return reportDiagnostics(io, r.diagnostics, json, { version: id })
    for (const line of validateSummary(r, { file, lock: r.lockPath ? displayPath(r.lockPath, io.cwd) : '-' })) io.err(line)
    const doc = validateDocument({ version: id, file: loaded.file }, r)
    if (json) printJson(io, doc)
    return io.signal.aborted ? EXIT.interrupted : doc.ok ? EXIT.ok : EXIT.failed
  },
}
export default command
