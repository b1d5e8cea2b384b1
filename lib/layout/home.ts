import { join } from 'node:path'

/** The tool's own folder in a home: proof that it created the home, its markers and its records. */
export const STATE_DIR = '.comfy-vc'

/** What the tool keeps in the home beside the core's files, as `info/exclude` lines so `git status` there ignores them. */
// `/.venv` too: a shared environment's link is no directory, and `/.venv/` matches only one.
export const TOOL_EXCLUDES = [`/${STATE_DIR}/`, '/.venv/', '/.venv']

/**
 * Every path under a realized home that the tool reads or writes, named in this one place:
 *
 *   <home>/                         a checkout of the ComfyUI core (main.py, requirements.txt)
 *   <home>/custom_nodes/<name>      a node's checkout; custom_nodes/.disabled/<name> when disabled
 *   <home>/models/<path>            links (or copies) into the model store
 *   <home>/.venv/                   the version's Python environment
 *   <home>/.venv -> <cache>/envs/<key>   the same, as a link to the shared environment of its lock (a new home's)
 *   <home>/.comfy-vc/home.json      who made the home, for which version, whether it is complete
 *   <home>/.comfy-vc/markers/       one skip marker per task
 *   <home>/.comfy-vc/links.json     the model links the tool made (kept apart from the link task's marker)
 *   <home>/.comfy-vc/last-realize.json, last-verify.json   when each last ended, and how (for `list`)
 *   <home>/.comfy-vc/python-installed.json  the distributions the tool installed into .venv (what a switch may remove)
 *   <home>/.comfy-vc/unpack/<name>  a registry archive being unpacked (same file system as custom_nodes/, for the rename)
 */
export function homeLayout(home: string) {
  const state = join(home, STATE_DIR)
  return {
    root: home,
    mainPy: join(home, 'main.py'),
    coreRequirements: join(home, 'requirements.txt'),
    customNodes: join(home, 'custom_nodes'),
    /** Where a node lives: custom_nodes/<name>, or custom_nodes/.disabled/<name> when disabled. */
    nodeDir: (name: string, enabled: boolean): string => join(home, 'custom_nodes', ...(enabled ? [] : ['.disabled']), name),
    nodeRequirements: (name: string): string => join(home, 'custom_nodes', name, 'requirements.txt'),
    models: join(home, 'models'),
    venv: join(home, '.venv'),
    stateDir: state,
    ownerFile: join(state, 'home.json'),
    markersDir: join(state, 'markers'),
    linksFile: join(state, 'links.json'),
    lastRunFile: (command: 'realize' | 'verify'): string => join(state, `last-${command}.json`),
    pythonRecord: join(state, 'python-installed.json'),
    unpackDir: (name: string): string => join(state, 'unpack', name),
  }
}

export type HomeLayout = ReturnType<typeof homeLayout>

/** The words for where a node lives, relative to the home (for messages). */
export const nodePlace = (enabled: boolean): string => (enabled ? 'custom_nodes/' : 'custom_nodes/.disabled/')
