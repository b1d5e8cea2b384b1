import { normalizeName } from './pep440.ts'

/** One package of pip's `--report` (the fields a lock needs). */
interface ReportItem {
  metadata?: { name?: string; version?: string }
  is_direct?: boolean
  download_info?: { url?: string; vcs_info?: { vcs?: string; commit_id?: string } }
}

/**
 * Turns pip's installation report (`pip install --dry-run --report`) into pinned lines:
 * `name==version`, or `name @ URL` for direct references (VCS ones pinned to their commit),
 * sorted by normalized name.
 */
export function pinsFromPipReport(report: unknown): string[] {
  const items = (report as { install?: ReportItem[] } | null)?.install
  if (!Array.isArray(items)) throw new Error('pip report has no "install" list')
  const pins = items.map(item => {
    const name = item.metadata?.name, version = item.metadata?.version
    if (!name || !version) throw new Error('pip report lists a package without a name or version')
    const info = item.download_info
    if (item.is_direct && info?.url) {
      const vcs = info.vcs_info
      return vcs?.vcs && vcs.commit_id ? `${name} @ ${vcs.vcs}+${info.url}@${vcs.commit_id}` : `${name} @ ${info.url}`
    }
    return `${name}==${version}`
  })
  return pins.sort((a, b) => cmp(normalizeName(leading(a)), normalizeName(leading(b))))
}

/** The pinned requirement lines of a lock file (`uv pip compile` output or ours), without comments or options. */
export function parseLockPins(text: string): string[] {
  const pins: string[] = []
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s/.test(raw)) continue                       // uv's "    # via …" annotations
    const line = raw.replace(/(^|\s)#.*$/, '').trim()
    if (!line || line.startsWith('-')) continue
    pins.push(line.replace(/\s*\\$/, ''))
  }
  return pins
}

/** The name a pinned line is about. */
export const leading = (pin: string): string => /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(pin)?.[1] ?? pin

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
