/** A sampler's (or any node's) progress: `node` is what to show, usually the class type or the node's title. */
export interface JobProgress {
  /** The node's id in the workflow. */
  nodeId: string
  node: string
  value: number
  max: number
}

/** `KSampler [#####.....] 5/10`: one line for the CLI to throttle and print to stderr. */
export function formatJobProgress(p: Pick<JobProgress, 'node' | 'value' | 'max'>, width = 10): string {
  const ratio = p.max > 0 ? Math.min(1, Math.max(0, p.value / p.max)) : 0
  const filled = Math.floor(ratio * width)
  return `${p.node} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.value}/${p.max}`
}
