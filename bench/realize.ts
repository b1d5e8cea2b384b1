/**
 * Realize benchmarks (issue: the build graph):
 * - a no-op realize of a version with the core and 30 nodes, whole process, against `tsx` running an
 *   empty file (goal: at most 1.3);
 * - a realize of the core and the 30 nodes into a new home with warm mirrors, against a shell script
 *   doing the minimum by hand: `git clone --shared` and a checkout per repository (goal: at most 1.5).
 *   Only the clone tasks are measured: the baseline does no Python or model work either.
 */
import { spawnSync } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { quote } from 'zx'
import { makeRepo } from '../test/helpers/git-repos.ts'
import { cleanEnv, ROOT } from '../test/helpers/cli.ts'
import { compileGraph } from '../lib/graph/compile.ts'
import { cloneCore } from '../lib/graph/kinds/clone-core.ts'
import { cloneNode } from '../lib/graph/kinds/clone-node.ts'
import { execute } from '../lib/engine/execute.ts'
import { MarkerStore } from '../lib/engine/markers.ts'
import { resolveConfig } from '../lib/config/resolve.ts'
import { mirrorDir } from '../lib/git/mirror-dir.ts'
import { SpecSchema } from '../lib/spec/schema.ts'
import type { AnyTaskPlugin, ResolvedSpec } from '../lib/graph/plugin.ts'
import { median, type BenchResult } from './measure.ts'

const NODES = 30
const RUNS = 5

async function world() {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-'))
  const repos = join(dir, 'repos')
  const core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  const nodes = []
  for (let i = 0; i < NODES; i++) {
    const files: Record<string, string> = { '__init__.py': `NODE_CLASS_MAPPINGS = {}\n# node ${i}\n` }
    for (let f = 0; f < 20; f++) files[`pkg/module_${f}.py`] = `value = ${i * 100 + f}\n`.repeat(50)
    nodes.push(await makeRepo(repos, `Node${i}`, [files], { branch: 'main' }))
  }
  const spec = {
    schema_version: 2, id: 'bench',
    comfyui: { repo: core.url, ref: 'master', commit: core.commits[0] },
    custom_nodes: nodes.map(n => ({ repo: n.url, ref: 'main', commit: n.commits[0] })),
  }
  const versions = join(dir, 'versions')
  await (await import('node:fs/promises')).mkdir(versions, { recursive: true })
  await writeFile(join(versions, 'bench.json'), JSON.stringify(spec, null, 2))
  const env = cleanEnv({ HOME: join(dir, 'user'), COMFY_VERSIONS_DIR: versions, COMFY_CACHE_ROOT: join(dir, 'cache'), COMFY_HOME: join(dir, 'home'), CI: '1' })
  return { dir, spec, env, core, nodes }
}

const time = (fn: () => void): number => { const t = performance.now(); fn(); return performance.now() - t }

export async function benchNoopRealize(): Promise<BenchResult> {
  const w = await world()
  try {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
    const cli = (args: string[]) => spawnSync(tsx, [join(ROOT, 'tasks', 'index.ts'), ...args], { env: w.env, cwd: w.dir, encoding: 'utf8' })
    const first = cli(['realize', 'bench'])
    if (first.status !== 0) throw new Error(`the first realize failed:\n${first.stderr}`)
    const empty = join(w.dir, 'empty.ts')
    await writeFile(empty, '')
    // Where the time goes: the two libraries a realize cannot start without, then every module it loads.
    // .mts: these load as ES modules, like the CLI (a .ts outside the project would load as CommonJS).
    const libs = join(w.dir, 'libs.mts')
    await writeFile(libs, `import ${JSON.stringify(import.meta.resolve('zod'))}\nimport ${JSON.stringify(import.meta.resolve('listr2'))}\n`)
    const modules = join(w.dir, 'modules.mts')
    await writeFile(modules, `import ${JSON.stringify(import.meta.resolve('../tasks/realize.ts'))}\n`)
    const ours: number[] = [], base: number[] = [], withLibs: number[] = [], withModules: number[] = []
    const load = (file: string) => time(() => { const r = spawnSync(tsx, [file], { env: w.env, cwd: w.dir }); if (r.status !== 0) throw new Error(`${file}:\n${r.stderr}`) })
    for (let i = 0; i < RUNS; i++) {
      base.push(load(empty))
      withLibs.push(load(libs))
      withModules.push(load(modules))
      ours.push(time(() => {
        const r = cli(['realize', 'bench'])
        // The summary line reads "realized: <home> (0 ran, 36 up to date)".
        const ran = /\((\d+) ran\b/.exec(r.stderr)?.[1]
        if (r.status !== 0 || ran !== '0') throw new Error(`the no-op realize did work:\n${r.stderr}`)
      }))
    }
    const r = result(`no-op realize, core + ${NODES} nodes (whole process) vs tsx of an empty file`, median(ours), median(base), 1.3)
    const vsEmpty = (xs: number[]) => `${Math.round(median(xs))} ms (${(median(xs) / median(base)).toFixed(2)} × empty)`
    r.notes = [
      `runs: ours ${ours.map(Math.round).join(' ')}; empty ${base.map(Math.round).join(' ')}`,
      `tsx of a file importing only zod and listr2: ${vsEmpty(withLibs)}`,
      `tsx of a file importing every module of realize (nothing run): ${vsEmpty(withModules)}`,
    ]
    return r
  } finally { await rm(w.dir, { recursive: true, force: true }) }
}

export async function benchFreshHome(): Promise<BenchResult> {
  const w = await world()
  try {
    const config = await resolveConfig({}, w.env, w.dir)
    if (!config.ok) throw new Error('config')
    const spec = SpecSchema.parse(w.spec) as ResolvedSpec
    const sink = new Writable({ write(_c, _e, cb) { cb() } }) as unknown as NodeJS.WriteStream
    // As in tasks/index.ts: each of the 31 clone tasks listens on the signal while it waits or runs git.
    const signal = new AbortController().signal
    setMaxListeners(0, signal)
    const realizeInto = async (home: string) => {
      const env = { home, cacheRoot: config.value.cacheRoot, modelsDir: config.value.modelsDir, installer: 'auto' as const, linkMode: 'symlink' as const }
      const graph = compileGraph(spec, env, [cloneCore, cloneNode])
      if (!graph.ok) throw new Error(graph.error.join())
      const r = await execute({
        graph: graph.value, plugins: new Map<string, AnyTaskPlugin>([[cloneCore.kind, cloneCore], [cloneNode.kind, cloneNode]]), markers: MarkerStore.forHome(home),
        base: { spec, env, config: config.value, secrets: [], force: false, processEnv: w.env },
        limits: { ...config.value.concurrency }, signal, renderer: 'silent', stream: sink,
      })
      if (!r.ok) throw new Error(JSON.stringify(r.tasks.filter(t => t.status !== 'ran')))
    }
    await realizeInto(join(w.dir, 'warmup'))   // fills the mirrors
    // The baseline is one bash script timed as one process: a shared clone and a detached checkout per repository
    // into the home given as $1. zx's quote writes the mirror paths and commits into it as shell words; the script
    // is spawned directly, not through zx's $, which would start a bash of its own in front of it.
    const clone = (url: string, dest: string, commit: string) =>
      `git clone -q --shared --no-checkout ${quote(mirrorDir(config.value.cacheRoot, url))} ${dest} && git -C ${dest} checkout -q --detach ${quote(commit)}`
    const script = [
      'set -e',
      clone(w.core.url, '"$1"', w.core.commits[0]!),
      ...w.nodes.map((n, i) => clone(n.url, `"$1/custom_nodes/Node${i}"`, n.commits[0]!)),
    ].join('\n')
    const scriptFile = join(w.dir, 'by-hand.sh')
    await writeFile(scriptFile, script)
    const ours: number[] = [], base: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const byHand = join(w.dir, `hand-${i}`)
      base.push(time(() => { const r = spawnSync('bash', [scriptFile, byHand], { env: w.env }); if (r.status !== 0) throw new Error(String(r.stderr)) }))
      const t = performance.now()
      await realizeInto(join(w.dir, `ours-${i}`))
      ours.push(performance.now() - t)
    }
    return result(`realize core + ${NODES} nodes into a new home, warm mirrors, vs git clone --shared by hand`, median(ours), median(base), 1.5)
  } finally { await rm(w.dir, { recursive: true, force: true }) }
}

function result(name: string, ours: number, baseline: number, goal: number): BenchResult {
  return { name, ours_ms: Math.round(ours), baseline_ms: Math.round(baseline), ratio: +(ours / baseline).toFixed(2), goal: `≤ ${goal}` }
}
