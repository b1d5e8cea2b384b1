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

/** The index arguments, the same for `pip install` and `uv pip compile/install`. */
export function indexArgs(o: IndexOptions, kind: 'uv' | 'pip'): string[] {
  const args: string[] = []
  if (o.offline && kind === 'pip') args.push('--no-index')
  else {
    if (o.indexUrl) args.push('--index-url', o.indexUrl)
    for (const u of o.extraIndexUrls) args.push('--extra-index-url', u)
  }
  for (const f of o.findLinks) args.push('--find-links', f)
  if (o.offline && kind === 'uv') args.push('--offline')
  return args
}
