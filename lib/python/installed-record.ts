import { readFileSync } from 'node:fs'

/**
 * The distributions the tool installed into a home's environment (normalized name → version), kept in the home
 * (`.comfy-vc/python-installed.json`): what a switch to another lock may remove. A package a user installed by hand
 * is never in it, so it is never removed. Its own small module: uv-compile's discover reads it on every no-op.
 */
export type InstalledRecord = Record<string, string>

export function readInstalledRecord(file: string): InstalledRecord {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { installed?: unknown }
    return j.installed && typeof j.installed === 'object' ? j.installed as InstalledRecord : {}
  } catch { return {} }
}
