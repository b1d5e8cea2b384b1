import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { defineKind } from '../plugin.ts'
import { normalizeRepoUrl } from '../../git/repo-url.ts'
import { gitDirOf } from '../../git/read-head.ts'
import { TOOL_EXCLUDES } from '../../layout/home.ts'
import { checkoutRepo, checkoutStands, parseCheckout, verifyCheckout } from './_checkout.ts'

/** The ComfyUI core, checked out at its commit into the home itself. */
export const cloneCore = defineKind({
  kind: 'clone-core',
  resource: 'git',
  tasks: spec => [{
    id: 'clone-core', kind: 'clone-core', deps: [],
    inputs: { repo: normalizeRepoUrl(spec.comfyui.repo), commit: spec.comfyui.commit },
  }],
  parseOutputs: parseCheckout,
  outputsStand: (_task, checkout) => checkoutStands(checkout),
  verify: ({ id }, checkout, ctx) => verifyCheckout(id, checkout, ctx),
  async run(_task, ctx) {
    const outcome = await checkoutRepo(ctx, { url: ctx.spec.comfyui.repo, commit: ctx.spec.comfyui.commit, dir: ctx.env.home, label: 'ComfyUI core' })
    await excludeToolPaths(ctx.env.home)
    return outcome
  },
})

/** The tool's own folders are hidden from `git status` in the core's checkout. */
async function excludeToolPaths(home: string): Promise<void> {
  const gitDir = gitDirOf(home)
  if (!gitDir) return
  const file = join(gitDir, 'info', 'exclude')
  const current = await readFile(file, 'utf8').catch(() => '')
  const missing = TOOL_EXCLUDES.filter(p => !current.split('\n').includes(p))
  if (!missing.length) return
  await mkdir(dirname(file), { recursive: true })
  await appendFile(file, `${current && !current.endsWith('\n') ? '\n' : ''}# comfy-vc\n${missing.join('\n')}\n`)
}
