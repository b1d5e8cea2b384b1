import { cp, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchComfy, type ComfyServer } from '../../lib/comfy/launch.ts'
import type { ApiWorkflow } from '../../lib/comfy/job-input.ts'

/** The stand-in core in this repository (what the demo commits as its "ComfyUI"). */
export const STANDIN_SOURCE = fileURLToPath(new URL('../../stand-ins/comfyui', import.meta.url))

export interface StandinHomeOptions {
  /** Writes models/checkpoints/demo.safetensors; default true. */
  checkpoint?: boolean
  /** custom_nodes/<name>/__init__.py sources. */
  customNodes?: Record<string, string>
}

/** Copies the stand-in into `dir`, which then acts as a realized ComfyUI home. */
export async function makeStandinHome(dir: string, opts: StandinHomeOptions = {}): Promise<string> {
  await cp(STANDIN_SOURCE, dir, { recursive: true, filter: src => !src.includes('__pycache__') })
  if (opts.checkpoint !== false) {
    await mkdir(join(dir, 'models', 'checkpoints'), { recursive: true })
    await writeFile(join(dir, 'models', 'checkpoints', 'demo.safetensors'), 'stand-in checkpoint\n')
  }
  await mkdir(join(dir, 'custom_nodes'), { recursive: true })
  for (const [name, source] of Object.entries(opts.customNodes ?? {})) {
    await mkdir(join(dir, 'custom_nodes', name), { recursive: true })
    await writeFile(join(dir, 'custom_nodes', name, '__init__.py'), source)
  }
  return dir
}

export interface Standin {
  url: string
  port: number
  home: string
  server: ComfyServer
  stop(): Promise<void>
}

/** Runs the stand-in with the system python3 on a free port (sampler steps 10 ms unless `env` says otherwise). */
export async function startStandin(home: string, env: Record<string, string> = {}): Promise<Standin> {
  const launched = await launchComfy({
    home, baseEnv: process.env, python: 'python3', port: 0, startupTimeoutMs: 20_000,
    env: { STANDIN_STEP_DELAY: '0.01', ...env },
  })
  if (!launched.ok) throw new Error(launched.error.message)
  const server = launched.value
  return { url: server.url, port: server.port, home, server, stop: async () => { await server.stop(3_000) } }
}

export interface Txt2ImgOptions {
  seed?: number
  steps?: number
  width?: number
  height?: number
  batch?: number
  ckpt?: string
  prompt?: string
}

/** The classic API-format text-to-image workflow (ids as ComfyUI's default graph: 3 sampler, 4 loader, 9 save). */
export function txt2imgWorkflow(o: Txt2ImgOptions = {}): ApiWorkflow {
  return {
    '3': { class_type: 'KSampler', inputs: { seed: o.seed ?? 42, steps: o.steps ?? 4, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: o.ckpt ?? 'demo.safetensors' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: o.width ?? 64, height: o.height ?? 48, batch_size: o.batch ?? 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: o.prompt ?? 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  }
}
