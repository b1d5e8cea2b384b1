/**
 * Kill points (issue 21): a realize with nodes, a model and Python dependencies is SIGKILLed at N random moments,
 * each into a fresh home and cache. After each kill no process the run started may be alive; the next realize
 * must exit 0 with the right tree, and the one after it must run nothing. `npm run bench -- kill-points` runs 50;
 * test/kill-points.test.ts runs a few.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { makeRepo } from '../test/helpers/git-repos.ts'
import { cleanEnv, ROOT } from '../test/helpers/cli.ts'
import { buildWheel } from '../test/helpers/wheels.ts'
import { startServer, type TestServer } from '../test/helpers/http-server.ts'
import { pollUntil } from '../test/helpers/poll-until.ts'

const TSX = import.meta.resolve('tsx')
const ENTRY = join(ROOT, 'tasks', 'index.ts')

export interface KillPointWorld {
  dir: string
  server: TestServer
  spec: Record<string, unknown>
  model: { path: string; sha256: string }
  nodeCommits: Record<string, string>
  cleanup(): Promise<void>
}

export async function killPointWorld(): Promise<KillPointWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'comfy-vc-kill-'))
  const repos = join(dir, 'repos')
  const core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '', 'models/checkpoints/put_here': '' }], { branch: 'master' })
  const a = await makeRepo(repos, 'NodeA', [{ '__init__.py': 'a = 1\n', 'requirements.txt': 'demo-greet>=1.0\n' }])
  const b = await makeRepo(repos, 'NodeB', [{
    '__init__.py': '',
    'install.py': "import pathlib\npathlib.Path(__file__).with_name('installed.txt').write_text('ran\\n')\n",
  }])
  const wheel = buildWheel(join(dir, 'index-files'), { name: 'demo-greet', version: '1.0' })
  const bytes = Buffer.alloc(512 * 1024, 7)
  const file = `/files/${basename(wheel)}`
  const server = await startServer({
    '/simple/demo-greet/': { handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<a href="${file}">${basename(wheel)}</a>`) },
    [file]: { body: readFileSync(wheel) },
    // Slow enough that some kill points land inside the download.
    '/model.bin': { body: bytes, etag: '"m1"', bytesPerSecond: 1024 * 1024 },
  })
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const spec = {
    schema_version: 2, id: 'kp',
    comfyui: { repo: core.url, ref: 'master', commit: core.commits[0] },
    custom_nodes: [
      { name: 'NodeA', repo: a.url, ref: 'main', commit: a.commits[0] },
      { name: 'NodeB', repo: b.url, ref: 'main', commit: b.commits[0], install_script: true },
    ],
    models: [{ path: 'checkpoints/m.safetensors', url: `${server.url}/model.bin`, sha256 }],
    python: { index_url: `${server.url}/simple` },
  }
  await mkdir(join(dir, 'versions'), { recursive: true })
  await writeFile(join(dir, 'versions', 'kp.json'), JSON.stringify(spec, null, 2))
  return {
    dir, server, spec, model: { path: 'checkpoints/m.safetensors', sha256 },
    nodeCommits: { NodeA: a.commits[0]!, NodeB: b.commits[0]! },
    cleanup: async () => { await server.close(); await rm(dir, { recursive: true, force: true }) },
  }
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

function realize(w: KillPointWorld, n: number, killAfterMs?: number): Promise<Run> {
  const env = cleanEnv({
    HOME: join(w.dir, 'user'), COMFY_VERSIONS_DIR: join(w.dir, 'versions'),
    COMFY_CACHE_ROOT: join(w.dir, `cache-${n}`), COMFY_HOME: join(w.dir, `home-${n}`),
  })
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', TSX, ENTRY, 'realize', 'kp', '--json'], { env, cwd: w.dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = '', stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  return new Promise(resolve => child.on('close', (code, signal) => {
    if (timer) clearTimeout(timer)
    resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
  }))
}

/** Processes whose environment names this kill point's cache: what the killed run started, at any depth. */
function startedBy(w: KillPointWorld, n: number): number[] {
  const needle = `COMFY_CACHE_ROOT=${join(w.dir, `cache-${n}`)}`
  const found: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) continue
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(needle)) found.push(Number(name))
    } catch { /* gone meanwhile */ }
  }
  return found
}

/** What a correct tree holds; a list of what is wrong (empty when it is right). */
function treeProblems(w: KillPointWorld, n: number): string[] {
  const home = join(w.dir, `home-${n}`)
  const problems: string[] = []
  for (const [name, commit] of Object.entries(w.nodeCommits)) {
    const head = readFileSafe(join(home, 'custom_nodes', name, '.git', 'HEAD'))
    if (!head?.includes(commit) && !existsSync(join(home, 'custom_nodes', name, '__init__.py'))) problems.push(`custom_nodes/${name} is not checked out at ${commit}`)
  }
  const model = join(home, 'models', w.model.path)
  const bytes = readFileSafeBuffer(model)
  if (!bytes || createHash('sha256').update(bytes).digest('hex') !== w.model.sha256) problems.push(`models/${w.model.path} is missing or wrong (${safeLink(model)})`)
  if (readFileSafe(join(home, 'custom_nodes', 'NodeB', 'installed.txt')) !== 'ran\n') problems.push('NodeB\'s install.py did not run')
  const lib = join(home, '.venv', 'lib')
  const py = existsSync(lib) ? readdirSync(lib).find(d => /^python3\.\d+$/.test(d)) : undefined
  if (!py || !readdirSync(join(lib, py, 'site-packages')).some(d => d.startsWith('demo_greet-1.0'))) problems.push('demo-greet is not installed in the environment')
  return problems
}

const readFileSafe = (p: string) => { try { return readFileSync(p, 'utf8') } catch { return undefined } }
const readFileSafeBuffer = (p: string) => { try { return readFileSync(p) } catch { return undefined } }
const safeLink = (p: string) => { try { return `-> ${readlinkSync(p)}` } catch { return 'not a link' } }

export interface KillPointOutcome { point: number; killAfterMs: number; killed: boolean; problems: string[] }

/**
 * Runs `count` kill points; each outcome lists what went wrong (nothing, when the point converged). The kill
 * moments are spread at random over the duration of a first, unkilled realize.
 */
export async function runKillPoints(w: KillPointWorld, count: number, random: () => number = Math.random): Promise<KillPointOutcome[]> {
  const full = await realize(w, 0)
  if (full.code !== 0) throw new Error(`the reference realize failed:\n${full.stderr}`)
  const outcomes: KillPointOutcome[] = []
  for (let point = 1; point <= count; point++) {
    const killAfterMs = Math.round(random() * full.ms)
    const killed = await realize(w, point, killAfterMs)
    const problems: string[] = []
    try {
      await pollUntil('the killed run\'s processes to end', () => startedBy(w, point).length === 0, { guardMs: 10_000 })
    } catch {
      const left = startedBy(w, point)
      problems.push(`after the kill at ${killAfterMs} ms, still running: ${left.map(p => `${p} ${readFileSafe(`/proc/${p}/cmdline`)?.replaceAll('\0', ' ')}`).join('; ')}`)
      for (const p of left) try { process.kill(p, 'SIGKILL') } catch { /* gone */ }
    }
    const again = await realize(w, point)
    if (again.code !== 0) problems.push(`the realize after the kill at ${killAfterMs} ms exited ${again.code}:\n${again.stderr.split('\n').slice(-15).join('\n')}`)
    else problems.push(...treeProblems(w, point))
    const third = await realize(w, point)
    let ran: string[] = []
    try { ran = (JSON.parse(third.stdout) as { tasks: { id: string; status: string }[] }).tasks.filter(t => t.status !== 'skipped').map(t => t.id) } catch { ran = ['(no report)'] }
    if (third.code !== 0 || ran.length) problems.push(`the third realize (kill at ${killAfterMs} ms) exited ${third.code} and ran: ${ran.join(', ')}`)
    outcomes.push({ point, killAfterMs, killed: killed.signal === 'SIGKILL', problems })
  }
  return outcomes
}

export async function benchKillPoints(count = 50): Promise<{ name: string; ms: number; goal_ms: number }> {
  const w = await killPointWorld()
  const started = Date.now()
  try {
    const outcomes = await runKillPoints(w, count)
    const failed = outcomes.filter(o => o.problems.length)
    for (const o of failed) console.log(`kill point ${o.point} (${o.killAfterMs} ms):\n  ${o.problems.join('\n  ')}`)
    if (failed.length) throw new Error(`${failed.length} of ${count} kill points did not converge`)
    return { name: `kill points: ${count} SIGKILLs of a realize, each converged (${outcomes.filter(o => o.killed).length} landed mid-run)`, ms: Date.now() - started, goal_ms: count * 20_000 }
  } finally {
    await w.cleanup()
  }
}
