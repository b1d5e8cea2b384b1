import { checkImports } from '../comfy/import-check.ts'
import { homeLayout } from '../layout/home.ts'
import { venvPython } from '../python/interpreter.ts'
import { nodeName } from '../spec/names.ts'
import type { ChildEnv } from '../util/exec.ts'
import type { Prepared } from './prepare.ts'
import { IMPORT_TASK, type VerifyRow } from './verify.ts'

/**
 * `verify --imports`: ComfyUI started once in the home; one `import:<node>` row per enabled node of the spec, `drift`
 * with the first lines of its error when it failed to import, `missing` when ComfyUI did not try it.
 */
export async function verifyImports(prepared: Prepared, o: { env: ChildEnv; signal: AbortSignal }): Promise<VerifyRow[]> {
  const { spec, home } = prepared
  const nodes = spec.custom_nodes.filter(n => n.enabled !== false).map(nodeName)
  const result = await checkImports({
    home, python: venvPython(homeLayout(home).venv), args: spec.launch.args, env: spec.launch.env, baseEnv: o.env,
    signal: o.signal, timeoutMs: spec.launch.startup_timeout_s * 1000,
  })
  const row = (name: string, status: VerifyRow['status'], detail?: string): VerifyRow =>
    ({ id: `import:${name}`, task: IMPORT_TASK, status, ...(detail ? { detail } : {}) })
  if (!result.ok) {
    const detail = `${result.error.message}: ${result.error.tail.join(' | ')}`
    return nodes.map(n => row(n, 'drift', detail))
  }
  const failed = new Map(result.value.failed.map(f => [f.folder, f.lines]))
  return nodes.map(n => failed.has(n) ? row(n, 'drift', `failed to import: ${failed.get(n)!.join(' | ')}`)
    : result.value.imported.includes(n) ? row(n, 'ok')
    : row(n, 'missing', 'ComfyUI did not import it (no such folder under custom_nodes/)'))
}
