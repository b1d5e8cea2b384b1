import { homeFor } from '../lib/config/resolve.ts'
import { bool, checkedVersionId, configFor, printJson, reportDiagnostics, str, EXIT, type Command } from './_cli.ts'

const command: Command = {
  name: 'config',
  summary: 'print the effective configuration',
  locations: true,
  options: { id: { type: 'string' }, jobs: { type: 'string' }, offline: { type: 'boolean' } },
  help: `Usage: npx tsx tasks config [--id ID] [--json]

Prints the effective configuration and where each value came from: a flag, the environment,
cache.config.ts, or the built-in default. --id shows the home of that version.`,
  async run(args, io) {
    const idArg = str(args, 'id')
    const id = idArg === undefined ? undefined : checkedVersionId(idArg, '--id')
    const config = await configFor(args, io, { offline: bool(args, 'offline') || undefined })
    if (Array.isArray(config)) return reportDiagnostics(io, config, bool(args, 'json'))
    const rows: [string, string, string][] = [
      ['config file', config.configFile ?? '(none: no ./cache.config.ts)', config.sources.configFile ?? 'default'],
      ['versions dir', config.versionsDir, config.sources.versionsDir ?? 'default'],
      ['home', id ? homeFor(config, id) : config.home, config.sources.home ?? 'default'],
      ['cache root', config.cacheRoot, config.sources.cacheRoot ?? 'default'],
      ['models dir', config.modelsDir, config.sources.modelsDir ?? 'default'],
      ['offline', String(config.offline), config.sources.offline ?? 'default'],
      ['registry', config.registryUrl, config.sources.registryUrl ?? 'default'],
      ['installer', config.installer, config.sources.installer ?? 'default'],
      ['link mode', config.linkMode, config.sources.linkMode ?? 'default'],
      ['concurrency', `git ${config.concurrency.git}, network ${config.concurrency.network}, cpu ${config.concurrency.cpu}`, config.sources.concurrency ?? 'default'],
      ['timeouts', `compile ${config.timeouts.compileS}s, install ${config.timeouts.installS}s, download headers ${config.timeouts.downloadHeadersS}s / body ${config.timeouts.downloadBodyS}s`, config.sources.timeouts ?? 'default'],
      ['package indexes', `connect timeout ${config.index.timeoutS}s, ${config.index.retries} retr${config.index.retries === 1 ? 'y' : 'ies'}`, config.sources.index ?? 'default'],
      ['auth', config.auth.map(r => `${r.env} → ${r.host}${r.subdomains ? ' (+subdomains)' : ''}${io.env[r.env] ? ' [set]' : ' [not set]'}`).join('; '), config.sources.auth ?? 'default'],
      ['plugins', config.plugins.map(p => p.kind).join(', ') || '(none)', config.sources.plugins ?? 'default'],
    ]
    if (bool(args, 'json')) {
      printJson(io, {
        configFile: config.configFile ?? null,
        values: {
          versionsDir: config.versionsDir, home: id ? homeFor(config, id) : config.home, cacheRoot: config.cacheRoot,
          modelsDir: config.modelsDir, offline: config.offline, registryUrl: config.registryUrl, installer: config.installer, linkMode: config.linkMode,
          concurrency: { ...config.concurrency, total: Number.isFinite(config.concurrency.total) ? config.concurrency.total : null },
          timeouts: config.timeouts, index: config.index, auth: config.auth.map(r => ({ ...r, set: !!io.env[r.env] })), plugins: config.plugins.map(p => p.kind),
        },
        sources: config.sources,
      })
      return EXIT.ok
    }
    const w = Math.max(...rows.map(r => r[0].length))
    io.out(rows.map(([k, v, s]) => `${k.padEnd(w)}  ${v}  (${s})`).join('\n') + '\n')
    return EXIT.ok
  },
}
export default command
