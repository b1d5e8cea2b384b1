import type { TaskPlugin } from '../plugin.ts'

/** One model file in the content-addressed store (shared by every home). */
export const fetchModel: TaskPlugin = {
  kind: 'fetch-model',
  resource: 'network',
  tasks: spec => spec.models.map(m => ({
    id: `fetch-model:${m.path}`, kind: 'fetch-model', deps: [],
    inputs: { url: m.url, sha256: m.sha256 ?? null },
  })),
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}
