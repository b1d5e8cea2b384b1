/**
 * Cache benchmarks (issue 19), each against a baseline measured in the same run:
 * - transfer: bytes stored for mirrors + checkouts of 3 repositories whose history added and removed a large file,
 *   against the bytes of the pinned trees (goal ≤ 1.3 × trees + 64 KB per repository); a full mirror (a server that
 *   refuses filters) is shown beside it;
 * - remove-node: a realize after a node whose requirement another node also asks for left the spec, against a no-op
 *   realize of the same version (goal ≤ 1.5; uv-install must be skipped);
 * - gc: gc --dry-run of a cache used by 50 versions, 25 of them deleted, against tsx running an empty file (what
 *   starting any command costs); the removing run's time and what it freed, and `du -sb` of the cache, beside it.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addCommit, makeRepo, type TestRepo } from '../test/helpers/git-repos.ts'
import { cleanEnv, ROOT } from '../test/helpers/cli.ts'
import { buildWheel } from '../test/helpers/wheels.ts'
import { checkoutAt, ensureCommit } from '../lib/git/index.ts'
import { median, type BenchResult } from './measure.ts'
import { du } from '../test/helpers/disk-usage.ts'

const REPOS = 3
const HEAVY = 4_000_000
const ALLOWANCE = 64_000

/** A repository whose history added and removed a large file, then settled on a few small ones. */
async function heavyRepo(dir: string, name: string, allowFilter: boolean): Promise<TestRepo> {
  const repo = await makeRepo(dir, name, [{ 'weights.bin': randomBytes(HEAVY).toString('latin1'), '__init__.py': '' }])
  execFileSync('git', ['config', 'uploadpack.allowFilter', String(allowFilter)], { cwd: repo.dir })
  await addCommit(repo, { 'weights.bin': null, 'nodes.py': 'X = 1\n'.repeat(200) })
  // What a node's tree holds: some 60 KB of source that does not compress away.
  await addCommit(repo, { 'README.md': '# node\n'.repeat(50), 'lib.py': `DATA = "${randomBytes(30_000).toString('hex')}"\n` })
  return repo
}

/** The bytes of a commit's tree, as `ls-tree -l` gives each blob's size. */
const treeBytes = (repo: TestRepo, commit: string): number => execFileSync('git', ['ls-tree', '-r', '-l', commit], { cwd: repo.dir, encoding: 'utf8' })
  .split('\n').filter(Boolean).reduce((n, l) => n + Number(l.split(/\s+/)[3]), 0)

export async function benchTransfer(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-transfer-'))
  try {
    const stored = async (allowFilter: boolean) => {
      const cacheRoot = join(dir, `cache-${allowFilter}`), home = join(dir, `home-${allowFilter}`)
      let trees = 0
      for (let i = 0; i < REPOS; i++) {
        const repo = await heavyRepo(join(dir, `repos-${allowFilter}`), `Node${i}`, allowFilter)
        const commit = repo.commits.at(-1)!
        trees += treeBytes(repo, commit)
        const m = await ensureCommit({ cacheRoot, url: repo.url, commit, offline: false, env: process.env })
        if (!m.ok) throw new Error(m.error.message)
        const c = await checkoutAt({ mirror: m.value.mirror, url: repo.url, commit, dir: join(home, `Node${i}`), force: false, env: process.env })
        if (!c.ok) throw new Error(c.error.message)
      }
      const seen = new Set<number>()
      return { bytes: du(join(cacheRoot, 'git'), seen) + du(home, seen), trees }
    }
    const partial = await stored(true)
    const full = await stored(false)
    const goal = 1.3 * partial.trees + ALLOWANCE * REPOS
    return {
      name: `cold realize transfer, ${REPOS} repos whose history held a ${HEAVY / 1e6} MB file: bytes stored (mirrors + checkouts) vs bytes of the pinned trees`,
      ours_ms: partial.bytes, baseline_ms: partial.trees, unit: 'bytes', ratio: +(partial.bytes / partial.trees).toFixed(2),
      goal: `≤ 1.3 × trees + ${ALLOWANCE / 1000} KB per repo = ${Math.round(goal)} bytes: ${partial.bytes <= goal ? 'met' : 'NOT met'}, ${(partial.bytes / goal).toFixed(2)} of it`,
      notes: [
        `without the per-repo allowance: (ours − ${ALLOWANCE / 1000} KB × ${REPOS}) / trees = ${((partial.bytes - ALLOWANCE * REPOS) / partial.trees).toFixed(2)}`,
        `a server refusing filters (today's full fetch): ${full.bytes} bytes, ${(full.bytes / full.trees).toFixed(1)} × the trees`,
      ],
    }
  } finally { await rm(dir, { recursive: true, force: true }) }
}

const RUNS = 5

export async function benchRemoveNode(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-remove-'))
  try {
    const wheels = join(dir, 'wheels')
    buildWheel(wheels, { name: 'demo-greet', version: '1.0' })
    const core = await makeRepo(join(dir, 'repos'), 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
    const nodes = await Promise.all([0, 1, 2].map(i => makeRepo(join(dir, 'repos'), `Node${i}`, [{ '__init__.py': '', 'requirements.txt': 'demo-greet\n' }])))
    const versions = join(dir, 'versions')
    mkdirSync(versions, { recursive: true })
    const env = cleanEnv({ HOME: join(dir, 'user'), COMFY_VERSIONS_DIR: versions, COMFY_CACHE_ROOT: join(dir, 'cache'), COMFY_HOME: join(dir, 'home-{id}'), CI: '1' })
    const write = (id: string, n: TestRepo[]) => writeFileSync(join(versions, `${id}.json`), JSON.stringify({
      schema_version: 2, id, comfyui: { repo: core.url, ref: 'master', commit: core.commits[0] },
      custom_nodes: n.map(r => ({ repo: r.url, ref: 'main', commit: r.commits[0] })), python: { find_links: [wheels] },
    }))
    for (const r of [core, ...nodes]) {
      const m = await ensureCommit({ cacheRoot: join(dir, 'cache'), url: r.url, commit: r.commits[0]!, offline: false, env: process.env })
      if (!m.ok) throw new Error(m.error.message)
    }
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
    const realize = (id: string) => {
      const t = performance.now()
      const r = spawnSync(tsx, [join(ROOT, 'tasks', 'index.ts'), 'realize', id, '--offline', '--json'], { env, cwd: dir, encoding: 'utf8' })
      const ms = performance.now() - t
      if (r.status !== 0) throw new Error(`realize ${id} failed:\n${r.stderr}`)
      return { ms, tasks: (JSON.parse(r.stdout) as { tasks: { id: string; status: string; note?: string }[] }).tasks }
    }
    const ours: number[] = [], base: number[] = []
    const notes: string[] = []
    for (let i = 0; i < RUNS; i++) {
      const id = `v${i}`
      write(id, nodes)
      realize(id)
      base.push(realize(id).ms)
      write(id, nodes.slice(0, 2))
      const after = realize(id)
      ours.push(after.ms)
      const by = Object.fromEntries(after.tasks.map(t => [t.id, t]))
      if (by['uv-install']?.status !== 'skipped') throw new Error(`uv-install ${by['uv-install']?.status} after the node left`)
      if (i === 0) notes.push(`after the removal: ${after.tasks.filter(t => t.status === 'ran').map(t => `${t.id}${t.note ? ` (${t.note})` : ''}`).join(', ')}; uv-install skipped`)
    }
    notes.push(`runs: ours ${ours.map(Math.round).join(' ')}; no-op ${base.map(Math.round).join(' ')}`)
    return { name: 'realize after a node left the spec (its requirement still asked by another) vs a no-op realize', ours_ms: Math.round(median(ours)), baseline_ms: Math.round(median(base)), ratio: +(median(ours) / median(base)).toFixed(2), goal: '≤ 1.5', notes }
  } finally { await rm(dir, { recursive: true, force: true }) }
}

const VERSIONS = 50

export async function benchGc(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-gc-'))
  try {
    const cacheRoot = join(dir, 'cache'), models = join(cacheRoot, 'models'), versions = join(dir, 'versions')
    mkdirSync(versions, { recursive: true })
    const core = await makeRepo(join(dir, 'repos'), 'ComfyUI', [{ 'main.py': 'print("core")\n' }], { branch: 'master' })
    const nodes = []
    for (let i = 0; i < VERSIONS; i++) nodes.push(await makeRepo(join(dir, 'repos'), `Node${i}`, [{ '__init__.py': `# ${i}\n`.repeat(100) }]))
    for (const r of [core, ...nodes]) {
      const m = await ensureCommit({ cacheRoot, url: r.url, commit: r.commits[0]!, offline: false, env: process.env })
      if (!m.ok) throw new Error(m.error.message)
    }
    // Each version: the core, its own node, and its own model blob (100 KB).
    for (let i = 0; i < VERSIONS; i++) {
      const body = Buffer.alloc(100_000, i)
      const sha = createHash('sha256').update(body).digest('hex')
      mkdirSync(join(models, 'sha256', sha.slice(0, 2)), { recursive: true })
      writeFileSync(join(models, 'sha256', sha.slice(0, 2), sha), body)
      writeFileSync(join(versions, `v${i}.json`), JSON.stringify({
        schema_version: 2, id: `v${i}`, comfyui: { repo: core.url, commit: core.commits[0] },
        custom_nodes: [{ repo: nodes[i]!.url, commit: nodes[i]!.commits[0] }],
        models: [{ url: `https://example.invalid/m${i}.safetensors`, path: `checkpoints/m${i}.safetensors`, sha256: sha }],
      }))
    }
    for (let i = 0; i < VERSIONS / 2; i++) rmSync(join(versions, `v${i}.json`))
    const env = cleanEnv({ HOME: join(dir, 'user'), COMFY_VERSIONS_DIR: versions, COMFY_CACHE_ROOT: cacheRoot, CI: '1' })
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
    const timed = (cmd: string, args: string[]) => { const t = performance.now(); const r = spawnSync(cmd, args, { env, cwd: dir, encoding: 'utf8' }); if (r.status !== 0) throw new Error(r.stderr); return { ms: performance.now() - t, out: r.stdout } }
    const empty = join(dir, 'empty.ts')
    writeFileSync(empty, '')
    const dry: number[] = [], walk: number[] = [], start: number[] = []
    for (let i = 0; i < RUNS; i++) {
      walk.push(timed('du', ['-sb', cacheRoot]).ms)
      start.push(timed(tsx, [empty]).ms)
      dry.push(timed(tsx, [join(ROOT, 'tasks', 'index.ts'), 'gc', '--dry-run', '--json']).ms)
    }
    const real = timed(tsx, [join(ROOT, 'tasks', 'index.ts'), 'gc', '--json'])
    const doc = JSON.parse(real.out) as { removed: { kind: string }[]; bytes: number }
    const kinds = doc.removed.reduce<Record<string, number>>((m, r) => ({ ...m, [r.kind]: (m[r.kind] ?? 0) + 1 }), {})
    return {
      name: `gc --dry-run over a cache of ${VERSIONS} versions (${VERSIONS / 2} deleted), whole process, vs tsx of an empty file`,
      ours_ms: Math.round(median(dry)), baseline_ms: Math.round(median(start)), ratio: +(median(dry) / median(start)).toFixed(2), goal: 'reported (no goal set)',
      notes: [
        `gc (removing): ${Math.round(real.ms)} ms, freed ${doc.bytes} bytes: ${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}`,
        `du -sb of the same cache: ${Math.round(median(walk))} ms`,
      ],
    }
  } finally { await rm(dir, { recursive: true, force: true }) }
}
