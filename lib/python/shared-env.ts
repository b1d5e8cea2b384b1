import { cp, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { constants, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { canonicalJson, sha256 } from '../util/hash.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { venvBin } from './interpreter.ts'
import { sitePackagesDirs } from './installed.ts'
import type { InstalledRecord } from './installed-record.ts'

/**
 * Environments shared by every home whose lock and settings are the same: `<cache>/envs/<key>/` is the environment
 * itself (made there, so its absolute paths are its own), and a home's `.venv` is a symlink to it. See docs/tech.md,
 * "Shared environments".
 */

/** Written into a shared environment: its key (what gc reports), whether it is complete, what the tool installed. */
export const ENV_STATE = 'comfy-vc-env.json'

export interface EnvState {
  key: string
  /** The base key of the interpreter settings it was made with (the venv task keeps a link whose base matches). */
  base: string
  complete: boolean
  /** What the tool installed into it (as python-installed.json in a home): what a repair may compare against. */
  record: InstalledRecord
}

/** What makes an environment's contents differ, besides the lock. */
export interface BaseInputs { interpreter: string | null; version: string | null; backend: 'uv' | 'pip'; systemSitePackages: boolean }

/** The interpreter settings alone: the empty environment a new home compiles against before its lock is known. */
export const baseEnvKey = (b: BaseInputs): string => key({ kind: 'base', ...b })

/**
 * The lock's environment. `own` is set (to the home) when nothing but this home may write into it: a version whose
 * nodes run install scripts, or one installed node by node after a conflict.
 */
export const sharedEnvKey = (b: BaseInputs, o: { lockHash: string; kept: readonly { name: string; version: string; from: string }[]; own: string | null }): string =>
  key({ kind: 'lock', ...b, lock: o.lockHash, kept: o.kept.map(k => `${k.name}==${k.version} ${k.from}`).sort(), own: o.own })

export function readEnvState(envDir: string): EnvState | undefined {
  try {
    const j = JSON.parse(readFileSync(join(envDir, ENV_STATE), 'utf8')) as EnvState
    return typeof j.key === 'string' && typeof j.base === 'string' ? { ...j, record: j.record ?? {} } : undefined
  } catch { return undefined }
}

export const writeEnvState = (envDir: string, s: EnvState): Promise<void> => writeFileAtomic(join(envDir, ENV_STATE), `${JSON.stringify(s, null, 2)}\n`)

/**
 * How a home's `.venv` stands: `absent`, `linked` (a symlink, with the folder it names), or `own` (a real folder: a
 * home made before environments were shared keeps it, installed into in place as before).
 */
export async function venvLink(venvPath: string): Promise<{ kind: 'absent' } | { kind: 'linked'; target: string } | { kind: 'own' }> {
  const st = await lstat(venvPath).catch(() => undefined)
  if (!st) return { kind: 'absent' }
  if (!st.isSymbolicLink()) return { kind: 'own' }
  return { kind: 'linked', target: resolve(dirname(venvPath), await readlink(venvPath)) }
}

/** Points `.venv` at an environment: a new link renamed over the old one, so no reader sees it missing. */
export async function pointVenv(venvPath: string, envDir: string): Promise<void> {
  const tmp = `${venvPath}.comfy-vc-link`
  await rm(tmp, { force: true })
  await mkdir(dirname(venvPath), { recursive: true })
  await symlink(envDir, tmp, 'dir')
  await rename(tmp, venvPath)
}

/**
 * Makes `toEnv` a copy of `fromEnv` (symlinks kept as they are), then rewrites `fromEnv`'s absolute path to `toEnv`'s
 * where an environment keeps it (venvs are not relocatable): the scripts in bin/ (shebangs, activate), pyvenv.cfg
 * and top-level .pth files. A new lock's environment starts from the home's current one, so what a switch keeps (a
 * protected build on no index, a package installed by hand) comes along and the clean switch removes the rest.
 */
export async function cloneEnv(fromEnv: string, toEnv: string, alsoNamed: readonly string[] = []): Promise<void> {
  // The source's paths as its files may spell them: the real one, and the one it was made at (a cache root reached
  // through a link), longest first so that no replacement cuts another.
  const olds = [...new Set([fromEnv, ...alsoNamed])].filter(p => p !== toEnv).sort((a, b) => b.length - a.length)
  await rm(toEnv, { recursive: true, force: true })
  await mkdir(dirname(toEnv), { recursive: true })
  // A reflink where the file system has them (btrfs, XFS): the copy then costs no disk until a file changes.
  // Not the source's state file: copied early, a copy killed halfway would say "complete" under the source's key.
  const stateFile = join(fromEnv, ENV_STATE)
  await cp(fromEnv, toEnv, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, mode: constants.COPYFILE_FICLONE, filter: src => src !== stateFile })
  const files = [join(toEnv, 'pyvenv.cfg'), ...await filesIn(venvBin(toEnv)), ...(await Promise.all(sitePackagesDirs(toEnv).map(filesIn))).flat().filter(f => f.endsWith('.pth'))]
  for (const file of files) {
    const st = await lstat(file).catch(() => undefined)
    if (!st?.isFile() || st.size > 1 << 20) continue
    const text = await readFile(file, 'utf8')
    const next = olds.reduce((t, old) => t.split(old).join(toEnv), text)
    if (next !== text) await writeFile(file, next, { mode: st.mode })
  }
}

const filesIn = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [] as string[])).map(f => join(dir, f))

const key = (record: Record<string, unknown>): string => sha256(canonicalJson({ ...record, platform: process.platform, arch: process.arch })).slice(0, 32)
