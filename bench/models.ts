/** A no-op realize with 60 models against the same no-op without models (goal: at most 10 % more). */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeRepo } from '../test/helpers/git-repos.ts'
import { cleanEnv, ROOT } from '../test/helpers/cli.ts'
import { median, type BenchResult } from './measure.ts'

const MODELS = 60
const RUNS = 7

export async function benchNoopWithModels(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-models-'))
  try {
    const core = await makeRepo(join(dir, 'repos'), 'ComfyUI', [{ 'main.py': 'print("core")\n' }], { branch: 'master' })
    const files = join(dir, 'files')
    await mkdir(files, { recursive: true })
    const models = []
    for (let i = 0; i < MODELS; i++) {
      const body = Buffer.from(`model ${i}\n`.repeat(100))
      await writeFile(join(files, `m${i}.safetensors`), body)
      models.push({ path: `checkpoints/m${i}.safetensors`, url: pathToFileURL(join(files, `m${i}.safetensors`)).href, sha256: createHash('sha256').update(body).digest('hex'), size: body.length })
    }
    const versions = join(dir, 'versions')
    await mkdir(versions, { recursive: true })
    const base = { schema_version: 2, comfyui: { repo: core.url, commit: core.commits[0] } }
    await writeFile(join(versions, 'with.json'), JSON.stringify({ ...base, id: 'with', models }))
    await writeFile(join(versions, 'without.json'), JSON.stringify({ ...base, id: 'without' }))
    const env = cleanEnv({ HOME: join(dir, 'user'), COMFY_VERSIONS_DIR: versions, COMFY_CACHE_ROOT: join(dir, 'cache'), COMFY_HOME: join(dir, 'home-{id}'), CI: '1' })
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
    const realize = (id: string) => {
      const t = performance.now()
      const r = spawnSync(tsx, [join(ROOT, 'tasks', 'index.ts'), 'realize', id], { env, cwd: dir, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`realize ${id} failed:\n${r.stderr}`)
      return performance.now() - t
    }
    realize('with'); realize('without')
    const withModels: number[] = [], without: number[] = []
    for (let i = 0; i < RUNS; i++) { without.push(realize('without')); withModels.push(realize('with')) }
    const ours = median(withModels), baseline = median(without)
    return { name: `no-op realize with ${MODELS} models vs the same without models`, ours_ms: Math.round(ours), baseline_ms: Math.round(baseline), ratio: +(ours / baseline).toFixed(2), goal: '≤ 1.1' }
  } finally { await rm(dir, { recursive: true, force: true }) }
}
