import { isAbsolute, resolve } from 'node:path'
import type { PythonRules } from '../spec/schema.ts'
import type { CollectedDeps } from './collect.ts'

/** Where packages come from, merged from the spec and the node packs. */
export interface IndexOptions {
  /** The spec's `python.index_url`; null means the resolver's default (PyPI). */
  indexUrl: string | null
  /** The spec's extra indexes, then the node packs' `--index-url` and `--extra-index-url`. */
  extraIndexUrls: string[]
  /** The spec's `python.find_links` only (node packs' are rejected), relative ones made absolute. */
  findLinks: string[]
  /**
   * Offline: pip gets `--no-index` (only find_links are read) and uv gets `--offline` (its cache
   * and find_links). This is how a user gets `--no-index`: COMFY_OFFLINE=1 or --offline.
   */
  offline: boolean
}

export type IndexRules = Partial<Pick<PythonRules, 'index_url' | 'extra_index_urls' | 'find_links'>>

export function indexOptions(rules: IndexRules, collected: Pick<CollectedDeps, 'indexUrls' | 'extraIndexUrls'> | undefined,
  opts: { offline: boolean; baseDir?: string }): IndexOptions {
  const extra = [...(rules.extra_index_urls ?? []), ...(collected?.indexUrls ?? []), ...(collected?.extraIndexUrls ?? [])]
  // The resolver runs in a temporary folder: a relative path means the spec's folder (baseDir), else the working directory.
  const findLinks = (rules.find_links ?? []).map(f =>
    /^[a-z][a-z0-9+.-]*:\/\//i.test(f) || isAbsolute(f) ? f : resolve(opts.baseDir ?? '.', f))
  return { indexUrl: rules.index_url ?? null, extraIndexUrls: [...new Set(extra)].filter(u => u !== rules.index_url), findLinks, offline: opts.offline }
}

/** How long pip and uv wait for an index, and how often they retry (config `index`). */
export interface IndexNet { timeoutS: number; retries: number }

/**
 * The index arguments that carry no URL of an index: `--find-links` (the spec's folders), and offline pip's
 * `--no-index` or uv's `--offline`. Index URLs go through {@link indexEnv}: they may hold a password, and a
 * child's command line is readable by every local user (`ps`), its environment only by the user.
 */
export function indexArgs(o: IndexOptions, kind: 'uv' | 'pip'): string[] {
  const args: string[] = []
  if (o.offline && kind === 'pip') args.push('--no-index')
  for (const f of o.findLinks) args.push('--find-links', f)
  if (o.offline && kind === 'uv') args.push('--offline')
  return args
}

/**
 * The environment that gives pip or uv the indexes and the time limits. pip: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL
 * (space-separated), PIP_TIMEOUT, PIP_RETRIES. uv (0.4.23 and later): UV_DEFAULT_INDEX, UV_INDEX (space-separated,
 * earlier ones first, as repeated `--index`), UV_HTTP_CONNECT_TIMEOUT (0.10.0 and later), UV_HTTP_RETRIES.
 */
export function indexEnv(o: IndexOptions, kind: 'uv' | 'pip', net?: IndexNet): Record<string, string> {
  const env: Record<string, string> = {}
  const online = !(o.offline && kind === 'pip')
  if (kind === 'pip') {
    if (online && o.indexUrl) env.PIP_INDEX_URL = o.indexUrl
    if (online && o.extraIndexUrls.length) env.PIP_EXTRA_INDEX_URL = o.extraIndexUrls.join(' ')
    if (net) { env.PIP_TIMEOUT = String(net.timeoutS); env.PIP_RETRIES = String(net.retries) }
  } else {
    if (o.indexUrl) env.UV_DEFAULT_INDEX = o.indexUrl
    if (o.extraIndexUrls.length) env.UV_INDEX = o.extraIndexUrls.join(' ')
    if (net) { env.UV_HTTP_CONNECT_TIMEOUT = String(net.timeoutS); env.UV_HTTP_RETRIES = String(net.retries) }
  }
  return env
}
