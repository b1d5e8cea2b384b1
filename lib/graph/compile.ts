import type { AnyTaskPlugin, GraphEnv, ResolvedSpec, TaskDef } from './plugin.ts'
import { err, ok, type Result } from '../result.ts'

/** A validated DAG: every dependency exists, there is no cycle, `order` is topological. */
export interface Graph {
  tasks: ReadonlyMap<string, TaskDef>
  /** Dependencies before dependents; ties keep the order in which plugins contributed. */
  order: readonly string[]
}

/**
 * Compiles a resolved spec into the task graph. Pure: the plugins' `tasks()` read only their
 * arguments, so the same spec and environment always give the same graph.
 */
export function compileGraph(spec: ResolvedSpec, env: GraphEnv, plugins: readonly AnyTaskPlugin[]): Result<Graph, string[]> {
  const problems: string[] = []
  const tasks = new Map<string, TaskDef>()
  const kinds = new Set<string>()
  for (const plugin of plugins) {
    // A plugin (from cache.config.ts) is the user's code: what it gets wrong is reported, not thrown.
    if (kinds.has(plugin.kind)) { problems.push(`two plugins have the kind "${plugin.kind}" (a built-in kind cannot be replaced); rename one`); continue }
    kinds.add(plugin.kind)
    let made: unknown
    try { made = plugin.tasks(spec, env, [...tasks.values()]) } catch (e) {
      problems.push(`plugin "${plugin.kind}": tasks() threw: ${(e as Error).message ?? e}`)
      continue
    }
    if (!Array.isArray(made)) { problems.push(`plugin "${plugin.kind}": tasks() must return a list of tasks`); continue }
    for (const task of made as TaskDef[]) {
      const bad = taskShapeProblem(task)
      if (bad) { problems.push(`plugin "${plugin.kind}": ${bad}`); continue }
      if (task.kind !== plugin.kind) problems.push(`plugin "${plugin.kind}" produced task ${task.id} of kind "${task.kind}"`)
      if (tasks.has(task.id)) problems.push(`two tasks have the id ${task.id}`)
      tasks.set(task.id, task)
    }
  }
  for (const task of tasks.values()) {
    for (const dep of task.deps) if (!tasks.has(dep)) problems.push(`task ${task.id} depends on ${dep}, which is not in the graph`)
    for (const dep of task.inputDeps ?? []) if (!task.deps.includes(dep)) problems.push(`task ${task.id} takes an input from ${dep}, which is not one of its dependencies`)
  }
  if (problems.length) return err(problems)
  const order = topologicalOrder(tasks)
  return order.ok ? ok({ tasks, order: order.value }) : err([order.error])
}

/** What makes a plugin's task unusable: no id, deps that are not a list of ids, inputs that are not plain JSON. */
function taskShapeProblem(task: TaskDef): string | undefined {
  if (!task || typeof task !== 'object' || typeof task.id !== 'string' || !task.id) return 'a task has no string "id"'
  if (!Array.isArray(task.deps) || task.deps.some(d => typeof d !== 'string')) return `task ${task.id}: "deps" must be a list of task ids`
  if (task.inputDeps !== undefined && (!Array.isArray(task.inputDeps) || task.inputDeps.some(d => typeof d !== 'string'))) return `task ${task.id}: "inputDeps" must be a list of task ids`
  try { JSON.stringify(task.inputs) } catch (e) { return `task ${task.id}: "inputs" must be plain JSON (${(e as Error).message})` }
  return undefined
}

/** Depth-first, in insertion order, so a cycle is always reported with the same trail. */
function topologicalOrder(tasks: ReadonlyMap<string, TaskDef>): Result<string[], string> {
  const state = new Map<string, 'visiting' | 'done'>()
  const order: string[] = []
  const trail: string[] = []
  const visit = (id: string): string | undefined => {
    const s = state.get(id)
    if (s === 'done') return undefined
    if (s === 'visiting') return `dependency cycle: ${[...trail.slice(trail.indexOf(id)), id].join(' → ')}`
    state.set(id, 'visiting')
    trail.push(id)
    for (const dep of tasks.get(id)!.deps) {
      const cycle = visit(dep)
      if (cycle) return cycle
    }
    trail.pop()
    state.set(id, 'done')
    order.push(id)
    return undefined
  }
  for (const id of tasks.keys()) {
    const cycle = visit(id)
    if (cycle) return err(cycle)
  }
  return ok(order)
}

/** Every task that depends on `id`, directly or not. */
export function dependentsOf(graph: Graph, id: string): Set<string> {
  const out = new Set<string>()
  let grew = true
  while (grew) {
    grew = false
    for (const t of graph.tasks.values()) {
      if (!out.has(t.id) && t.deps.some(d => d === id || out.has(d))) { out.add(t.id); grew = true }
    }
  }
  return out
}
