/** Spec helpers without zod: the no-op path (graph kinds, markers) uses them without loading the schema. */

/** Problems with a relative path that must stay inside its folder, or undefined when it is safe. */
export function unsafePathReason(p: string): string | undefined {
  if (p.includes('\0')) return 'must not contain a NUL character'
  if (p.includes('\\')) return 'must not contain a backslash (use "/")'
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'must be relative, not absolute'
  const parts = p.split('/')
  if (parts.includes('..')) return 'must not contain ".." (it would leave its folder)'
  if (parts.some(s => s === '' || s === '.')) return 'must not contain empty or "." segments'
  return undefined
}

/** The folder name a node is realized under: its `name`, else the registry id, else the last URL segment without `.git`. */
export function nodeName(node: { name?: string | undefined; repo?: string; registry?: string }): string {
  if (node.name) return node.name
  if (node.registry !== undefined) return node.registry
  const last = (node.repo ?? '').replace(/[/\\]+$/, '').split(/[/:]/).pop() ?? ''
  return last.replace(/\.git$/, '')
}

/** Whether a custom node comes from the Comfy Registry (`registry`) rather than git (`repo`). */
export const isRegistryNode = <N extends object>(node: N): node is Extract<N, { registry: string }> =>
  typeof (node as { registry?: unknown }).registry === 'string'
