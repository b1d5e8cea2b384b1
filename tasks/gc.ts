import { formatBytes } from '../lib/fetch/progress.ts'
import { collectGarbage } from '../lib/pipeline/gc.ts'
import { displayPath } from '../lib/spec/load.ts'
import { bool, configFor, int, printJson, reportDiagnostics, EXIT, type Command } from './_cli.ts'

const command: Command = {
  name: 'gc',
  summary: 'remove cache objects no spec and no realized home uses (mirrors, model blobs, partial downloads, compiled locks, Python environments)',
  locations: true,
  options: { 'dry-run': { type: 'boolean' }, 'older-than': { type: 'string' } },
  help: `Usage: npx tsx tasks gc [--dry-run] [--older-than DAYS] [--json]

Removes what nothing references from the cache: git mirrors, model blobs, partial downloads,
compiled locks and shared Python environments (the one a recorded home's .venv links to stays).
Referenced is what any spec in the versions folder names (and its resolved lock), and what any
home realized from this cache uses (homes record themselves at realize; a home that no longer
exists is forgotten). Prints each object with its size, and the total.

gc takes the locks realize takes (every recorded home's, and each mirror's or environment's while
removing it): a realize running at the same time waits for it, or gc for the realize, and neither
is broken.

  --dry-run          list and size what would be removed; remove nothing
  --older-than DAYS  keep objects created or used in the last DAYS days

--json prints {"removed": [{"path", "kind", "bytes"}], "bytes": N, "dry_run": bool}.`,
  async run(args, io) {
    const json = bool(args, 'json')
    const dryRun = bool(args, 'dry-run')
    const olderThanDays = int(args, 'older-than', 0, 100_000)
    const config = await configFor(args, io)
    if (Array.isArray(config)) return reportDiagnostics(io, config, json)
    const r = await collectGarbage({
      versionsDir: config.versionsDir, cacheRoot: config.cacheRoot, modelsDir: config.modelsDir, dryRun,
      ...(olderThanDays === undefined ? {} : { olderThanDays }), signal: io.signal, onWait: line => io.err(line),
    })
    if (json) printJson(io, { removed: r.removed, bytes: r.bytes, dry_run: r.dryRun })
    const verb = dryRun ? 'would remove' : 'removed'
    const lines = r.forgottenHomes.map(h => `forgot ${h} (it no longer exists)`)
    const width = Math.max(0, ...r.removed.map(o => formatBytes(o.bytes).length))
    for (const o of r.removed) lines.push(`${verb} ${formatBytes(o.bytes).padStart(width)}  ${o.kind.padEnd(16)}  ${displayPath(o.path, io.cwd)}`)
    lines.push(r.removed.length
      ? `${dryRun ? 'would free' : 'freed'} ${formatBytes(r.bytes)} in ${r.removed.length} object${r.removed.length === 1 ? '' : 's'}${dryRun ? ' (dry run: nothing was removed)' : ''}`
      : 'nothing to remove: every cache object is in use')
    const text = `${lines.join('\n')}\n`
    // Without --json the listing is the result (stdout); with it, stdout holds the document only.
    if (json) io.err(text); else io.out(text)
    return EXIT.ok
  },
}
export default command
