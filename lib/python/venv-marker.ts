import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Written last, once an environment is complete: without it a folder is a half-made environment. */
export const VENV_MARKER = '.comfy-vc-venv.json'

/** What the tool records with an environment it made. */
export interface VenvMarker {
  realpath: string | null
  version: string | null
  /** The backend that made it: `auto` keeps using it (a uv that later appears inside .venv does not take over). */
  backend?: 'uv' | 'pip'
}

export function readVenvMarker(venvDir: string): VenvMarker | undefined {
  try { return JSON.parse(readFileSync(join(venvDir, VENV_MARKER), 'utf8')) as VenvMarker } catch { return undefined }
}
