/** collect-deps over 300 generated node packs, in process (goal: at most 150 ms). */
import { collectRequirements, renderConstraints, renderRequirementsIn, type NodeRequirements } from '../lib/python/collect.ts'
import { PythonSchema } from '../lib/spec/schema.ts'
import { median } from './measure.ts'

const PACKS = 300
const RUNS = 9

const PACKAGES = [
  'numpy', 'torch', 'torchvision', 'torchaudio', 'transformers', 'diffusers', 'accelerate', 'safetensors', 'einops',
  'opencv-python', 'opencv-python-headless', 'Pillow', 'scipy', 'scikit-image', 'kornia', 'timm', 'huggingface_hub',
  'onnxruntime', 'onnxruntime-gpu', 'insightface', 'mediapipe', 'segment_anything', 'ultralytics', 'matplotlib',
  'tqdm', 'requests', 'aiohttp', 'pyyaml', 'omegaconf', 'color-matcher', 'piexif', 'GitPython', 'imageio-ffmpeg',
  'rembg', 'fairscale', 'open_clip_torch', 'sentencepiece', 'protobuf', 'psutil', 'numba', 'spandrel', 're-crypto',
]
const SPECS = ['', '>=1.0', '<2', '==1.26.4', '>=0.4.2,<0.5', '~=4.8', '!=1.2.0', '>=2.1.0']
const MARKERS = ['', '', '', '; python_version < "3.12"', '; sys_platform == "linux"', '; platform_machine != "arm64"']
const DANGEROUS = ['-r extra.txt', '-e .', '-fhttps://download.pytorch.org/whl/torch_stable.html', 'pkg @ file:///tmp/pkg.whl',
  './vendor/thing', '--trusted-host example.com', 'torch -f https://x.example/whl', '--global-option=--x']

/** A deterministic generator, so every run measures the same input. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

function generatePacks(): NodeRequirements[] {
  const r = rng(42)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const packs: NodeRequirements[] = []
  for (let p = 0; p < PACKS; p++) {
    const lines = [`# requirements for node pack ${p}`]
    const n = 10 + Math.floor(r() * 31)
    for (let i = 0; i < n; i++) {
      const roll = r()
      if (roll < 0.08) lines.push('')
      else if (roll < 0.15) lines.push(`# ${pick(PACKAGES)} is optional`)
      else if (roll < 0.19) lines.push(pick(DANGEROUS))
      else if (roll < 0.22) lines.push(`--extra-index-url https://download.pytorch.org/whl/cu12${Math.floor(r() * 9)}`)
      else if (roll < 0.24) lines.push(`${pick(PACKAGES)} --index-url https://user:token@mirror.example/simple`)
      else if (roll < 0.26) lines.push(`clip @ git+https://github.com/openai/CLIP.git`)
      else {
        const extras = r() < 0.1 ? '[extra-c]' : ''
        lines.push(`${pick(PACKAGES)}${extras}${pick(SPECS)}${pick(MARKERS)}${r() < 0.1 ? '  # pinned for a reason' : ''}`)
      }
    }
    packs.push({ name: `ComfyUI-Pack-${p}`, text: new TextEncoder().encode(`${lines.join(r() < 0.2 ? '\r\n' : '\n')}\n`) })
  }
  return packs
}

export async function benchCollect(): Promise<{ name: string; ms: number; goal_ms: 150 }> {
  const nodes = generatePacks()
  const rules = PythonSchema.parse({
    overrides: { numpy: 'numpy<2', 'opencv-python': 'opencv-python-headless' },
    blacklist: ['torch', 'torchvision', 'torchaudio'],
    downgrade_blacklist: ['transformers', 'safetensors', 'kornia'],
  })
  const installed = new Map(PACKAGES.map((p, i) => [p.toLowerCase().replace(/[-_.]+/g, '-'), `${1 + (i % 4)}.${i}.0`]))
  const coreText = 'torch\ntorchsde\ntorchvision\nnumpy>=1.25.0\neinops\ntransformers>=4.37.2\nsafetensors>=0.4.2\naiohttp>=3.11.8\npyyaml\nPillow\nscipy\ntqdm\npsutil\nkornia>=0.7.1\nspandrel\n'
  const run = () => {
    const t = performance.now()
    const c = collectRequirements({ nodes, coreText, rules, installed })
    renderRequirementsIn(c); renderConstraints(c)
    return performance.now() - t
  }
  run()   // warm-up: JIT and regex compilation
  const times = Array.from({ length: RUNS }, run)
  return { name: `collect-deps over ${PACKS} node packs (in process, median of ${RUNS})`, ms: Math.round(median(times) * 10) / 10, goal_ms: 150 }
}
