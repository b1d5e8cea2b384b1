/**
 * `npm run demo`: from nothing to an output image, offline. Builds a demo world (git repositories,
 * wheels, model files) under .demo/, then drives the real CLI: create, validate, realize and
 * run-handler, and says where everything landed and how to start the UI.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildDemoWorld, DEMO_WORKFLOW } from '../stand-ins/demo-world.ts'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const DEMO = join(ROOT, '.demo')
const ID = 'demo'
const env = {
  ...process.env,
  COMFY_VERSIONS_DIR: join(DEMO, 'versions'),
  COMFY_CACHE_ROOT: join(DEMO, 'cache'),
  COMFY_HOME: join(DEMO, 'comfy-{id}'),
}
delete (env as Record<string, unknown>).MODELS_DIR
const shown = (p: string) => relative(ROOT, p) || '.'

function step(title: string, args: string[]): void {
  process.stderr.write(`\n── ${title}\n$ npx tsx tasks ${args.join(' ')}\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'index.ts'), ...args], { cwd: ROOT, env, stdio: 'inherit' })
  if (r.status !== 0) {
    process.stderr.write(`\ndemo: "${args[0]}" exited with ${r.status ?? r.signal}; see the output above.\n`)
    process.exit(r.status ?? 1)
  }
}

process.stderr.write(`comfy-vc demo: everything happens under ${shown(DEMO)}/, offline\n`)
const world = await buildDemoWorld(join(DEMO, 'world'))
process.stderr.write(`demo world: a ComfyUI stand-in core and two custom nodes as git repositories, wheels and two models in ${shown(world.root)}\n`)

const inputs = join(DEMO, 'inputs')
mkdirSync(inputs, { recursive: true })
const nodesFile = join(inputs, 'nodes.json')
writeFileSync(nodesFile, JSON.stringify(world.nodes.map(n => ({ repo: n.url, ref: 'main', ...(n.installScript ? { install_script: true } : {}) })), null, 2))
const modelsFile = join(inputs, 'models.json')
writeFileSync(modelsFile, JSON.stringify(world.models.map(m => ({ url: m.url, path: m.path })), null, 2))
const jobFile = join(inputs, 'job.json')
writeFileSync(jobFile, JSON.stringify({ input: { workflow: DEMO_WORKFLOW } }, null, 2))

step('1. create the version spec', ['create', ID, '--repo', `${world.core.url}@master`, '--nodes', nodesFile, '--models', modelsFile, '--description', 'comfy-vc offline demo', '--force'])

// The demo's Python packages come from a local wheel folder instead of PyPI.
const specPath = join(env.COMFY_VERSIONS_DIR, `${ID}.json`)
const spec = JSON.parse(readFileSync(specPath, 'utf8'))
spec.python = { find_links: [world.wheels] }
writeFileSync(specPath, `${JSON.stringify(spec, null, 2)}\n`)
process.stderr.write(`(python.find_links set to ${shown(world.wheels)} in ${shown(specPath)})\n`)

step('2. validate: pin every ref to a commit, every model to its sha256', ['validate', ID])
// validate filled the git mirrors; from here on nothing needs a network (pip gets --no-index).
step('3. realize, offline: build the version (core, nodes, models, Python environment)', ['realize', ID, '--offline'])
step('4. realize again: nothing to do', ['realize', ID, '--offline'])
step('5. validate again: the models are pinned from the store, so --frozen accepts the spec', ['validate', ID])
step('   and check it in CI style: every repo and model pinned', ['validate', ID, '--check'])
const outDir = join(DEMO, 'output')
step('6. run-handler: run a workflow headless, like a RunPod worker', ['run-handler', ID, '--offline', '--frozen', '--job', jobFile, '--output', 'files', '--out-dir', outDir, '--out-file', join(outDir, 'result.json')])

const home = env.COMFY_HOME.replace('{id}', ID)
process.stderr.write(`
Done. The demo version landed in ${shown(home)}
  spec:    ${shown(specPath)}
  outputs: ${shown(outDir)} (the job's images and result.json)
Start its UI with:
  COMFY_VERSIONS_DIR=${shown(env.COMFY_VERSIONS_DIR)} COMFY_CACHE_ROOT=${shown(env.COMFY_CACHE_ROOT)} COMFY_HOME='${shown(join(DEMO, 'comfy-{id}'))}' npx tsx tasks run-ui ${ID} --offline

Next, your own setup (specs in ./versions, the home in ~/comfy-<id>):
  npx tsx tasks create my-version --repo https://github.com/comfyanonymous/ComfyUI@master --nodes snapshot.json --models models.json
  npx tsx tasks validate my-version
  npx tsx tasks realize my-version
(add-node, add-model, remove, update and show edit and inspect it later; docs/manual.md has the scenarios)
`)
