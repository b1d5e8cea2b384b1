/**
 * Builds the offline demo world: a ComfyUI core repository (the stand-in in ./comfyui), two custom
 * node repositories with Python requirements, a folder of wheels they resolve from, and two model
 * files. Everything is made with real git and real wheels, under one folder; building twice gives
 * the same commits, so specs pinned against it stay valid. `npm run demo` (scripts/demo.ts) and the
 * CLI tests that run the demo version (test/cli-runtime.test.ts, test/cli-watch.test.ts) use it.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { $ } from 'zx'
import { testGitEnv } from '../test/helpers/git-repos.ts'
import { buildWheel } from '../test/helpers/wheels.ts'

export const STANDIN_DIR = fileURLToPath(new URL('./comfyui', import.meta.url))

export interface DemoWorld {
  root: string
  core: { url: string; commit: string }
  nodes: { name: string; url: string; commit: string; installScript: boolean }[]
  wheels: string
  models: { path: string; url: string; sha256: string; size: number }[]
}

/** A file tree: content by path. */
type Files = Record<string, string>

/** Every file of the stand-in core, as a file tree for a commit. */
function standinFiles(): Files {
  const files: Files = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === '__pycache__') continue
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else files[relative(STANDIN_DIR, p)] = readFileSync(p, 'utf8')
    }
  }
  walk(STANDIN_DIR)
  // The real core ships these folders; links and nodes go into them.
  files['models/checkpoints/put_checkpoints_here'] = ''
  files['custom_nodes/example_node.py.example'] = '# custom nodes go in this folder\n'
  return files
}

const GREETING_NODE = `from demo_greeting_lib import greet


class DemoGreeting:
    """Says hello through a library installed from the demo wheels."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'name': ('STRING', {'default': 'ComfyUI'})}}

    RETURN_TYPES = ('STRING',)
    FUNCTION = 'run'
    OUTPUT_NODE = True
    CATEGORY = 'demo'

    def run(self, name):
        text = greet(name)
        return {'ui': {'text': [text]}, 'result': (text,)}


NODE_CLASS_MAPPINGS = {'DemoGreeting': DemoGreeting}
`

const PALETTE_NODE = `import os
import demo_palette


class DemoPalette:
    """Names the demo palette; its install.py must have run."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {}}

    RETURN_TYPES = ('STRING',)
    FUNCTION = 'run'
    OUTPUT_NODE = True
    CATEGORY = 'demo'

    def run(self):
        marker = os.path.join(os.path.dirname(__file__), 'installed.txt')
        state = 'installed' if os.path.exists(marker) else 'install.py did not run'
        text = f'palette {demo_palette.__version__}: {", ".join(demo_palette.COLORS)} ({state})'
        return {'ui': {'text': [text]}, 'result': (text,)}


NODE_CLASS_MAPPINGS = {'DemoPalette': DemoPalette}
`

/**
 * A git repository `root/name` with `files` as its one commit on `branch`, served as a `file://` URL.
 * Identity, date and message are fixed (those of test/helpers/git-repos.ts's first commit), so the
 * sha is the same on every build.
 */
async function commitRepo(root: string, name: string, files: Files, branch: string): Promise<{ url: string; commit: string }> {
  const dir = join(root, name)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  const date = '@1700000000 +0000'
  const git = $({ cwd: dir, env: testGitEnv({ GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }), quiet: true })
  // uploadpack.allow*SHA1InWant: a fetch may ask for a pinned commit by its sha.
  await git`
    git init --quiet --initial-branch ${branch}
    git config uploadpack.allowAnySHA1InWant true
    git config uploadpack.allowReachableSHA1InWant true
    git add --all
    git commit --quiet -m ${'commit 1'}`
  return { url: pathToFileURL(dir).href, commit: (await git`git rev-parse HEAD`).stdout.trim() }
}

/** Deterministic bytes standing in for model weights. */
function modelBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size)
  let block = createHash('sha256').update(seed).digest()
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i)
    block = createHash('sha256').update(block).digest()
  }
  return out
}

/** Builds the world under `root` (kept if already there). */
export async function buildDemoWorld(root: string): Promise<DemoWorld> {
  const manifest = join(root, 'world.json')
  if (existsSync(manifest)) {
    const world = JSON.parse(readFileSync(manifest, 'utf8')) as DemoWorld
    if (world.root === root) return world
  }
  mkdirSync(root, { recursive: true })
  const repos = join(root, 'repos')
  const core = await commitRepo(repos, 'ComfyUI', standinFiles(), 'master')
  const greeting = await commitRepo(repos, 'ComfyUI-DemoGreeting', {
    '__init__.py': GREETING_NODE,
    'requirements.txt': '# the demo wheel folder has it\ndemo-greeting-lib>=1.0\n',
  }, 'main')
  const palette = await commitRepo(repos, 'ComfyUI-DemoPalette', {
    '__init__.py': PALETTE_NODE,
    'requirements.txt': 'demo-palette==1.2.0\n',
    'install.py': "import pathlib\npathlib.Path(__file__).with_name('installed.txt').write_text('ok\\n')\nprint('demo palette installed')\n",
  }, 'main')

  const wheels = join(root, 'wheels')
  buildWheel(wheels, { name: 'demo-greeting-lib', version: '1.0.0', files: { 'demo_greeting_lib/__init__.py': "__version__ = '1.0.0'\n\ndef greet(name):\n    return f'Hello, {name}, from the demo node!'\n" } })
  buildWheel(wheels, { name: 'demo-palette', version: '1.1.0', requires: ['demo-greeting-lib>=1.0'], files: { 'demo_palette/__init__.py': "__version__ = '1.1.0'\nCOLORS = ['red', 'green']\n" } })
  buildWheel(wheels, { name: 'demo-palette', version: '1.2.0', requires: ['demo-greeting-lib>=1.0'], files: { 'demo_palette/__init__.py': "__version__ = '1.2.0'\nCOLORS = ['red', 'green', 'blue']\n" } })

  const modelsDir = join(root, 'models')
  mkdirSync(modelsDir, { recursive: true })
  const models = [
    { path: 'checkpoints/demo-v1.safetensors', file: 'demo-v1.safetensors', size: 256 * 1024 },
    { path: 'vae/demo-vae.safetensors', file: 'demo-vae.safetensors', size: 64 * 1024 },
  ].map(m => {
    const bytes = modelBytes(m.file, m.size)
    const file = join(modelsDir, m.file)
    writeFileSync(file, bytes)
    return { path: m.path, url: pathToFileURL(file).href, sha256: createHash('sha256').update(bytes).digest('hex'), size: m.size }
  })

  const world: DemoWorld = {
    root,
    core,
    nodes: [
      { name: 'ComfyUI-DemoGreeting', url: greeting.url, commit: greeting.commit, installScript: false },
      { name: 'ComfyUI-DemoPalette', url: palette.url, commit: palette.commit, installScript: true },
    ],
    wheels,
    models,
  }
  writeFileSync(manifest, `${JSON.stringify(world, null, 2)}\n`)
  return world
}

/** A demo API-format workflow: a checkpoint through the sampler to a saved PNG, plus both demo nodes. */
export const DEMO_WORKFLOW = {
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'demo-v1.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a reproducible lighthouse', clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
  '3': { class_type: 'KSampler', inputs: { model: ['4', 0], seed: 42, steps: 8, cfg: 7, sampler_name: 'euler', scheduler: 'normal', positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0], denoise: 1 } },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'demo' } },
  '10': { class_type: 'DemoGreeting', inputs: { name: 'comfy-vc' } },
  '11': { class_type: 'DemoPalette', inputs: {} },
}
