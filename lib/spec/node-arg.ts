import { err, ok, type Result } from '../result.ts'
import { splitBrowserRepoUrl } from '../util/repo-url.ts'
import { parseRegistryArg, parseRepoArg, stripUrlCredentials, type CustomNodeInput } from './importers.ts'

/** A node as given on the command line, with what the user should know about how it was read. */
export interface NodeArg { node: CustomNodeInput; warnings: string[] }

/**
 * `URL[@REF]` or `cnr:ID[@VER]`, as `create --node` and `add-node` take it. `flag` (`--node`, `add-node`) starts
 * every message. Credentials never go into a spec: they are removed with a warning.
 */
export function parseNodeArg(arg: string, flag: string): Result<NodeArg, string> {
  const cnr = parseRegistryArg(arg)
  if (cnr) return cnr.registry ? ok({ node: cnr, warnings: [] }) : err(`${flag} ${arg}: no registry id after "cnr:" (e.g. cnr:comfyui-kjnodes@1.1.0)`)
  const r = parseRepoNodeArg(arg, flag)
  return r.ok ? ok({ node: r.value.repo, warnings: r.value.warnings }) : r
}

/** `URL[@REF]` for a repository (the core or a node): a browser link to a branch is read as the repository at it. */
export function parseRepoNodeArg(arg: string, flag: string): Result<{ repo: { repo: string; ref?: string }; warnings: string[] }, string> {
  const warnings: string[] = []
  const parsed = parseRepoArg(arg)
  if (!parsed.ref && arg.trim().endsWith('@')) return err(`${flag} ${arg}: nothing after "@"; give a ref (${parsed.repo}@main) or leave the "@" out`)
  const clean = stripUrlCredentials(parsed.repo)
  if (clean.removed) warnings.push(`${flag}: credentials removed from the URL (git asks its credential helper for them instead)`)
  const split = splitBrowserRepoUrl(clean.url)
  if (split.ref !== undefined && parsed.ref !== undefined) return err(`${flag} ${arg}: the URL shows ref "${split.ref}" (…/tree/${split.ref}) and "@" gives "${parsed.ref}"; keep one`)
  if (split.ref !== undefined) warnings.push(`${flag}: read the browser link as the repository ${split.repo} at ref ${split.ref}`)
  const ref = parsed.ref ?? split.ref
  return ok({ repo: { repo: split.repo, ...(ref ? { ref } : {}) }, warnings })
}
