/** Where a transfer stands. `bytes` counts what is on disk (resumed bytes included); `rate` only new bytes. */
export interface Progress {
  bytes: number
  total?: number | undefined
  /** Bytes per second, smoothed. */
  rate: number
  /** Seconds left at the current rate, when the total is known and the rate is not zero. */
  etaS?: number | undefined
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/** Decimal units, one decimal above bytes: "312.4 MB", "6.9 GB". */
export function formatBytes(n: number): string {
  let v = n
  let u = 0
  while (v >= 1000 && u < UNITS.length - 1) { v /= 1000; u++ }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${UNITS[u]}`
}

/** "17s", "2m17s", "1h02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** "4% 312.4 MB / 6.9 GB, 48.2 MB/s, 2m17s left" (parts without data are left out). */
export function formatProgress(p: Progress): string {
  const percent = p.total ? `${Math.min(100, Math.floor((p.bytes * 100) / p.total))}% ` : ''
  const parts = [p.total !== undefined ? `${percent}${formatBytes(p.bytes)} / ${formatBytes(p.total)}` : formatBytes(p.bytes)]
  if (p.rate > 0) parts.push(`${formatBytes(p.rate)}/s`)
  if (p.etaS !== undefined) parts.push(`${formatDuration(p.etaS)} left`)
  return parts.join(', ')
}

/** The percentage a {@link formatProgress} line starts with, for a display that shows only some of them. */
export function progressPercent(text: string): number | undefined {
  const m = /^(\d{1,3})% /.exec(text)
  return m ? Number(m[1]) : undefined
}

/** Counts bytes and reports at most once per `intervalMs` (plus a final report from `flush`). */
export interface ProgressMeter {
  /** Sets the byte count and total at the start of an attempt (a resume starts above zero). */
  reset(bytes: number, total: number | undefined): void
  add(n: number): void
  flush(): void
}

export function createProgressMeter(onProgress: ((p: Progress) => void) | undefined, intervalMs = 250,
  now: () => number = () => performance.now()): ProgressMeter {
  let bytes = 0
  let total: number | undefined
  let rate = 0
  let lastAt = now()
  let lastBytes = 0
  const report = (force: boolean) => {
    if (!onProgress) return
    const t = now()
    const dt = t - lastAt
    if (!force && dt < intervalMs) return
    if (dt > 0 && bytes >= lastBytes) {
      const instant = ((bytes - lastBytes) * 1000) / dt
      // Smooth so the display does not jump with every burst of the network.
      rate = rate === 0 ? instant : rate * 0.7 + instant * 0.3
    }
    lastAt = t
    lastBytes = bytes
    const etaS = total !== undefined && rate > 0 ? Math.max(0, total - bytes) / rate : undefined
    onProgress({ bytes, total, rate, etaS })
  }
  return {
    reset(b, t) { bytes = b; total = t; lastBytes = b; lastAt = now() },
    add(n) { bytes += n; report(false) },
    flush() { report(true) },
  }
}
