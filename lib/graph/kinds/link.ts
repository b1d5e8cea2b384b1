import type { TaskPlugin } from '../plugin.ts'

/** models/<path> → its blob, for every model; links the tool made for dropped models go away. */
export const link: TaskPlugin = {
  kind: 'link',
  resource: 'none',
  tasks: (spec, env) => [{
    id: 'link', kind: 'link', deps: ['clone-core', ...spec.models.map(m => `fetch-model:${m.path}`)],
    inputs: { mode: env.linkMode, models: spec.models.map(m => [m.path, m.sha256 ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))) },
  }],
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}
