/**
 * `npm run bench`: every benchmark prints its time, its baseline measured in the same run, and the
 * ratio against its goal. `npm run bench -- noop download` runs only the named ones.
 */
import type { BenchResult } from './measure.ts'

const BENCHES: Record<string, () => Promise<BenchResult | { name: string; ms: number; goal_ms: number }>> = {
  noop: async () => (await import('./realize.ts')).benchNoopRealize(),
  'kill-points': async () => (await import('./kill-points.ts')).benchKillPoints(),
  fresh: async () => (await import('./realize.ts')).benchFreshHome(),
  download: async () => (await import('./download.ts')).benchDownload(),
  collect: async () => (await import('./collect.ts')).benchCollect(),
  models: async () => (await import('./models.ts')).benchNoopWithModels(),
  serve: async () => (await import('./serve.ts')).benchServe(),
  transfer: async () => (await import('./cache.ts')).benchTransfer(),
  'remove-node': async () => (await import('./cache.ts')).benchRemoveNode(),
  gc: async () => (await import('./cache.ts')).benchGc(),
  'shared-env': async () => (await import('./shared-env.ts')).benchSharedEnv(),
}

const wanted = process.argv.slice(2).filter(a => !a.startsWith('-'))
const names = wanted.length ? wanted : Object.keys(BENCHES)
let failed = false
for (const name of names) {
  const run = BENCHES[name]
  if (!run) { console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`); process.exitCode = 2; continue }
  process.stderr.write(`running ${name}...\n`)
  try {
    const r = await run()
    if ('ratio' in r) {
      console.log(`${r.name}\n  ours ${r.ours_ms} ${r.unit ?? 'ms'}, baseline ${r.baseline_ms} ${r.unit ?? 'ms'}, ratio ${r.ratio} (goal ${r.goal})`)
      for (const n of r.notes ?? []) console.log(`  - ${n}`)
    }
    else console.log(`${r.name}\n  ${r.ms} ms (goal ≤ ${r.goal_ms} ms)`)
  } catch (e) {
    failed = true
    console.error(`${name}: ${(e as Error).stack ?? e}`)
  }
}
if (failed) process.exitCode = 1
