import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { TaskPlugin } from '../plugin.ts'
import { normalizeRepoUrl } from '../../git/repo-url.ts'
import { gitDirOf } from '../../git/read-head.ts'
import { checkoutRepo, checkoutStands } from './_checkout.ts'

/** What the tool keeps in the home next to the core's files; hidden from `git status` there. */
const TOOL_PATHS = ['/.comfy-vc/', '/.venv/']

/** The ComfyUI core, checked out at its commit into the home itself. */
export const cloneCore: TaskPlugin = {
  kind: 'clone-core',
  resource: 'git',
  tasks: spec => [{
    id: 'clone-core', kind: 'clone-core', deps: [],
    inputs: { repo: normalizeRepoUrl(spec.comfyui.repo), commit: spec.comfyui.commit },
  }],
  outputsStand: (_task, recorded) => checkoutStands(recorded),
  async run(_task, ctx) {
    const outcome = await checkoutRepo(ctx, { url: ctx.spec.comfyui.repo, commit: ctx.spec.comfyui.commit, dir: ctx.env.home, label: 'ComfyUI core' })
    await excludeToolPaths(ctx.env.home)
    return outcome
  },
}

async function excludeToolPaths(home: string): Promise<void> {
  const gitDir = gitDirOf(home)
  if (!gitDir) return
  const file = join(gitDir, 'info', 'exclude')
  const current = await readFile(file, 'utf8').catch(() => '')
  const missing = TOOL_PATHS.filter(p => !current.split('\n').includes(p))
  if (!missing.length) return
  await mkdir(dirname(file), { recursive: true })
  await appendFile(file, `${current && !current.endsWith('\n') ? '\n' : ''}# comfy-vc\n${missing.join('\n')}\n`)
}
