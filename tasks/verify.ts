import { contextBase } from '../lib/pipeline/plan.ts'
import { verifyVersion } from '../lib/pipeline/verify.ts'
import { verifyImports } from '../lib/pipeline/verify-imports.ts'
import { verifyDocument, verifyText } from '../lib/report/verify-document.ts'
import { readOwner } from '../lib/engine/home.ts'
import { recordLastRun } from '../lib/engine/last-run.ts'
import { bool, configFor, printJson, reportDiagnostics, versionId, EXIT, type Command } from './_cli.ts'
import { prepareOrReport, secretsOf } from './_realize-common.ts'

const command: Command = {
  name: 'verify',
  summary: 'prove the home matches its spec, without changing anything',
  locations: true,
  allowPositionals: 1,
  options: { hashes: { type: 'boolean' }, imports: { type: 'boolean' }, frozen: { type: 'boolean' } },
  help: `Usage: npx tsx tasks verify <id> [--hashes] [--imports] [--json]

Checks, without changing anything (it records only its result, for \`list\`) and without network, that the home is what the spec says: the core
and every git node at their commits with no modified or deleted tracked file, registry nodes' files as
their archive had them, every model link resolving to the blob of its pinned sha256, and the
environment's distributions at the versions of the lock. Exit 0 when everything holds, 1 on any drift
(each line says what \`realize <id> --repair\` would do), 2 for a spec error.

  --hashes   also hash every model's bytes again (reads them all)
  --imports  also start ComfyUI once (--quick-test-for-ci) and report each custom node
             that fails to import, with the first lines of its error`,
  async run(args, io) {
    const id = versionId(args)
    const json = bool(args, 'json')
    // Read-only and without network: the caches only.
    const config = await configFor(args, io, { offline: true })
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const prepared = await prepareOrReport(io, { id, config, frozen: bool(args, 'frozen'), json })
    if (typeof prepared === 'number') return prepared
    const owner = await readOwner(prepared.home)
    if (!owner) {
      // Nothing realized is nothing that holds: exit 1, as for any drift.
      const message = `${prepared.home} was not realized by comfy-vc; run \`realize ${id}\` first`
      io.err(message)
      if (json) printJson(io, { version: id, home: prepared.home, ok: false, checks: [], errors: [message] })
      return EXIT.failed
    }
    const base = contextBase(prepared, { config, secrets: secretsOf(config, io.env), force: false, processEnv: io.env })
    const rows = await verifyVersion(prepared, base, io.signal, { hashes: bool(args, 'hashes') })
    if (bool(args, 'imports') && !io.signal.aborted) rows.push(...await verifyImports(prepared, { env: io.env, signal: io.signal }))
    const doc = verifyDocument({ version: id, home: prepared.home }, rows)
    if (!io.signal.aborted) await recordLastRun(prepared.home, 'verify', { ok: doc.ok, drift: rows.filter(r => r.status !== 'ok').length, checks: rows.length })
    if (json) printJson(io, doc)
    else io.out(verifyText(doc, rows))
    if (io.signal.aborted) return EXIT.interrupted
    return doc.ok ? EXIT.ok : EXIT.failed
  },
}
export default command
