import { readFileSync } from 'node:fs'
import { compareVersionText } from './pep440.ts'

/**
 * NVIDIA's minimum Linux driver for each CUDA toolkit (CUDA toolkit release notes, "Toolkit Driver Version"), newest
 * first: the backend `auto` becomes the newest one the driver runs.
 */
const CUDA_DRIVERS: [backend: string, minDriver: string][] = [
  ['cu130', '580.65.06'], ['cu129', '575.51.03'], ['cu128', '570.26'], ['cu126', '560.28.03'],
  ['cu124', '550.54.14'], ['cu121', '530.30.02'], ['cu118', '520.61.05'],
]

/** Where the NVIDIA kernel module says its version, read in this order (files only: no nvidia-smi). */
export const DRIVER_FILES = ['/sys/module/nvidia/version', '/proc/driver/nvidia/version']

/**
 * `python.torch_backend` as it enters the compile key and uv's command line: `auto` is decided here, on the machine
 * that realizes, from the NVIDIA driver's version (`cpu` without one), so that a lock compiled on a GPU-less build box
 * is never keyed "auto" and served to a GPU worker. Other values pass through.
 */
export function resolveTorchBackend(value: string | null | undefined, files: readonly string[] = DRIVER_FILES): string | null {
  if (value !== 'auto') return value ?? null
  const driver = driverVersion(files)
  if (!driver) return 'cpu'
  for (const [backend, min] of CUDA_DRIVERS) if ((compareVersionText(driver, min) ?? -1) >= 0) return backend
  return 'cpu'
}

// --- internal ---

function driverVersion(files: readonly string[]): string | undefined {
  for (const f of files) {
    let text: string
    try { text = readFileSync(f, 'utf8') } catch { continue }
    const v = /(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1]
    if (v) return v
  }
  return undefined
}
