import type { GraphEnv, ResolvedSpec, TaskDef, TaskPlugin } from './plugin.ts'
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
export function compileGraph(spec: ResolvedSpec, env: GraphEnv, plugins: readonly TaskPlugin[]): Result<Graph, string[]> {
  const problems: string[] = []
  const tasks = new Map<string, TaskDef>()
  for (const plugin of plugins) {
    for (const task of plugin.tasks(spec, env, [...tasks.values()])) {
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
