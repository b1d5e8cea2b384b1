/** PEP 503 name normalization: `Foo_Bar.baz` and `foo-bar-baz` are the same project. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-')

/** A parsed PEP 440 version, in the form its ordering needs. */
export interface Version {
  epoch: number
  release: number[]
  /** [rank, n]: a=0, b=1, rc=2. */
  pre?: [number, number]
  post?: number
  dev?: number
  local?: (number | string)[]
}

const VERSION = /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i
const PRE_RANK: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 }

export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text)
  if (!m) return undefined
  const v: Version = { epoch: Number(m[1] ?? 0), release: m[2]!.split('.').map(Number) }
  if (m[3]) v.pre = [PRE_RANK[m[3].toLowerCase()]!, Number(m[4] ?? 0)]
  if (m[5] !== undefined) v.post = Number(m[5])
  else if (m[6]) v.post = Number(m[7] ?? 0)
  if (m[8]) v.dev = Number(m[9] ?? 0)
  if (m[10]) v.local = m[10].toLowerCase().split(/[-_.]/).map(s => (/^\d+$/.test(s) ? Number(s) : s))
  return v
}

/** The version without its `+local` label (what `==1.0` compares against). */
export const withoutLocal = (v: Version): Version => ({ ...v, local: undefined })

/** PEP 440 ordering: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: Version, b: Version): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch
  const n = Math.max(a.release.length, b.release.length)
  for (let i = 0; i < n; i++) {
    const d = (a.release[i] ?? 0) - (b.release[i] ?? 0)
    if (d) return d
  }
  const d = cmpNum(preKey(a), preKey(b)) || cmpNum(a.post ?? -Infinity, b.post ?? -Infinity) || cmpNum(a.dev ?? Infinity, b.dev ?? Infinity)
  return d || compareLocal(a.local, b.local)
}

/** Compares two version strings; undefined when either is not a PEP 440 version. */
export function compareVersionText(a: string, b: string): number | undefined {
  const va = parseVersion(a), vb = parseVersion(b)
  return va && vb ? compareVersions(va, vb) : undefined
}

// --- internal ---

const cmpNum = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0)

// A dev release without pre or post (1.0.dev1) sorts before every pre-release of 1.0.
function preKey(v: Version): number {
  if (v.pre) return v.pre[0] * 1e9 + v.pre[1]
  if (v.post === undefined && v.dev !== undefined) return -Infinity
  return Infinity
}

function compareLocal(a: Version['local'], b: Version['local']): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i], y = b[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    if (typeof x === 'number' && typeof y === 'number') { if (x !== y) return x - y; continue }
    if (typeof x === 'number') return 1   // numeric segments sort above alphanumeric ones
    if (typeof y === 'number') return -1
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}
