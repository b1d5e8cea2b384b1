import type { ChildEnv } from '../util/exec.ts'
import type { IndexNet } from './indexes.ts'

/** What every step that starts a Python tool (venv, resolver, installer) takes. */
export interface StepOptions {
  cacheRoot: string
  offline: boolean
  /** The child is killed after this long (config `timeouts.*_s` × 1000). */
  timeoutMs: number
  signal?: AbortSignal
  /** Each line of the tool's output, redacted. */
  onLine?: (line: string) => void
  /** The run's environment, the child's base (PIP_/UV_ index settings are removed from it). */
  env: ChildEnv
  /** Index connect timeout and retries (config `index`); the tools' own defaults when absent. */
  index?: IndexNet
}
