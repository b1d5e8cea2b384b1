/** One benchmark's outcome: our time against a baseline measured in the same run. */
export interface BenchResult {
  name: string
  ours_ms: number
  baseline_ms: number
  ratio: number
  goal: string
  /** What ours_ms and baseline_ms count when not milliseconds (a size benchmark: "bytes"). */
  unit?: string
  /** Further figures from the same run that show where the time goes. */
  notes?: string[]
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
