import type { TaskPlugin } from '../plugin.ts'
import { normalizeRepoUrl } from '../../git/repo-url.ts'
import { checkoutRepo, checkoutStands } from './_checkout.ts'

/** The ComfyUI core, checked out at its commit into the home itself. */
export const cloneCore: TaskPlugin = {
  kind: 'clone-core',
  resource: 'git',
  tasks: spec => [{
    id: 'clone-core', kind: 'clone-core', deps: [],
    inputs: { repo: normalizeRepoUrl(spec.comfyui.repo), commit: spec.comfyui.commit },
  }],
  outputsStand: (_task, recorded) => checkoutStands(recorded),
  run: (_task, ctx) => checkoutRepo(ctx, { url: ctx.spec.comfyui.repo, commit: ctx.spec.comfyui.commit, dir: ctx.env.home, label: 'ComfyUI core' }),
}
