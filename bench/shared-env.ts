/**
 * Shared environments (issue 19): a second version with the same Python lock, realized into a second home, against
 * the first. Both are real realizes through the CLI (pip, wheels built here, --offline); disk is what `du` counts
 * under the homes and the cache before and after each (hard links counted once). Goal: the second home costs at most
 * 5 % of the disk the first one did.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeRepo } from '../test/helpers/git-repos.ts'
import { buildWheel } from '../test/helpers/wheels.ts'
import { cleanEnv, ROOT } from '../test/helpers/cli.ts'
import type { BenchResult } from './measure.ts'

const GOAL = 0.05

export async function benchSharedEnv(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-bench-env-'))
  try {
    const wheels = join(dir, 'wheels')
    // A few packages with some weight, so that the environment is not only pip.
    for (let i = 0; i < 4; i++) buildWheel(wheels, { name: `demo-pkg${i}`, version: '1.0', files: { [`demo_pkg${i}/__init__.py`]: `data = ${JSON.stringify('x'.repeat(1 << 20))}\n` } })
    const repos = join(dir, 'repos')
    const core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': '', 'requirements.txt': '' }], { branch: 'master' })
    const node = await makeRepo(repos, 'NodeA', [{ '__init__.py': '', 'requirements.txt': 'demo-pkg0\ndemo-pkg1\ndemo-pkg2\ndemo-pkg3\n' }])
    const versions = join(dir, 'versions'), cache = join(dir, 'cache'), homes = join(dir, 'homes')
    await mkdir(versions, { recursive: true })
    const spec = (id: string) => ({
      schema_version: 2, id, comfyui: { repo: core.url, ref: 'master', commit: core.commits[0] },
      custom_nodes: [{ name: 'NodeA', repo: node.url, ref: 'main', commit: node.commits[0] }], python: { find_links: [wheels] },
    })
    const write = (id: string, s: object) => writeFile(join(versions, `${id}.json`), JSON.stringify(s, null, 2))
    // validate on the unpinned spec fills the git mirrors that realize --offline reads.
    await write('one', { ...spec('one'), comfyui: { repo: core.url, ref: 'master' }, custom_nodes: [{ name: 'NodeA', repo: node.url, ref: 'main' }] })
    const env = cleanEnv({ HOME: join(dir, 'user'), COMFY_VERSIONS_DIR: versions, COMFY_CACHE_ROOT: cache, COMFY_HOME: join(homes, '{id}'), COMFY_INSTALLER: 'pip', CI: '1' })
    const cli = (args: string[]) => {
      const t = performance.now()
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'index.ts'), ...args], { env, cwd: ROOT, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
      return { ms: Math.round(performance.now() - t), stdout: r.stdout }
    }
    cli(['validate', 'one'])
    for (const id of ['one', 'two']) await write(id, spec(id))
    const du = () => spawnSync('du', ['-s', '-B1', homes, cache], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).reduce((n, l) => n + Number(l.split('\t')[0]), 0)
    await mkdir(homes, { recursive: true })
    const d0 = du()
    const one = cli(['realize', 'one', '--offline', '--json'])
    const d1 = du()
    const two = cli(['realize', 'two', '--offline', '--json'])
    const d2 = du()
    const first = d1 - d0, second = d2 - d1
    const note = (r: { stdout: string }) => (JSON.parse(r.stdout) as { tasks: { id: string; note?: string }[] }).tasks.find(t => t.id === 'uv-install')?.note ?? ''
    const ratio = Math.round((second / first) * 1000) / 1000
    return {
      name: 'second version with the same lock: extra disk against the first home (ratio of bytes; times are the two realizes)',
      ours_ms: two.ms, baseline_ms: one.ms, ratio, goal: `≤ ${GOAL} of the first home's disk`,
      notes: [`first home ${(first / 1e6).toFixed(1)} MB, second ${(second / 1e6).toFixed(2)} MB`, `first uv-install: ${note(one)}`, `second uv-install: ${note(two)}`],
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
