import { nodeName } from '../../spec/schema.ts'
import type { TaskPlugin } from '../plugin.ts'

export const venv: TaskPlugin = {
  kind: 'venv',
  resource: 'cpu',
  tasks: (spec, env) => [{ id: 'venv', kind: 'venv', deps: ['clone-core'], inputs: { python: spec.python.version ?? null, installer: env.installer } }],
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}

export const collectDeps: TaskPlugin = {
  kind: 'collect-deps',
  resource: 'cpu',
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'collect-deps', kind: 'collect-deps',
      deps: ['clone-core', ...spec.custom_nodes.map(n => `clone-node:${nodeName(n)}`), 'venv'],
      inputs: {
        nodes: spec.custom_nodes.filter(n => n.enabled).map(nodeName),
        requirements: p.requirements, constraints: p.constraints, overrides: p.overrides,
        blacklist: p.blacklist, downgrade_blacklist: p.downgrade_blacklist,
      },
    }]
  },
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}

export const uvCompile: TaskPlugin = {
  kind: 'uv-compile',
  resource: 'cpu',
  tasks: spec => {
    const p = spec.python
    return [{
      id: 'uv-compile', kind: 'uv-compile', deps: ['collect-deps', 'venv'],
      inputs: {
        python: p.version ?? null, index_url: p.index_url, extra_index_urls: p.extra_index_urls, find_links: p.find_links,
        torch_backend: p.torch_backend, exclude_newer: p.exclude_newer, on_conflict: p.on_conflict,
      },
    }]
  },
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}

export const uvInstall: TaskPlugin = {
  kind: 'uv-install',
  resource: 'cpu',
  tasks: () => [{ id: 'uv-install', kind: 'uv-install', deps: ['uv-compile', 'venv'], inputs: {} }],
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}

export const installScript: TaskPlugin = {
  kind: 'install-script',
  resource: 'cpu',
  tasks: spec => spec.custom_nodes.filter(n => n.enabled && n.install_script).map(n => ({
    id: `install-script:${nodeName(n)}`, kind: 'install-script', deps: ['uv-install', `clone-node:${nodeName(n)}`],
    inputs: { commit: n.commit },
  })),
  outputsStand: async () => false,
  run: async () => { throw new Error('not wired yet') },
}
