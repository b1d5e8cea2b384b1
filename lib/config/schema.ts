import { z } from 'zod'
import type { AuthRule } from '../fetch/auth-rule.ts'
import type { TaskPlugin } from '../graph/plugin.ts'

/** A credential and the only hosts it may be sent to: {@link AuthRule} as the user writes it. */
export const AuthRuleSchema = z.strictObject({
  /** Host name, e.g. "huggingface.co". */
  host: z.string().min(1).regex(/^[a-z0-9.-]+$/i, { error: 'host must be a bare host name such as "huggingface.co"' }),
  /** Also send it to subdomains of `host` (cdn-lfs.huggingface.co, ...). */
  subdomains: z.boolean().default(true),
  /** The environment variable that holds the token. */
  env: z.string().min(1),
  /** Sent as `Authorization: Bearer <token>` unless another header is named. */
  header: z.string().min(1).default('authorization'),
})
// The schema gives exactly the fetch adapter's AuthRule: a field added to one and not the other fails the typecheck.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
const authRuleMatches: Same<z.output<typeof AuthRuleSchema>, AuthRule> = true

const positive = z.number().int().positive()

/** The shape of cache.config.ts's default export. Every field is optional. */
export const ConfigFileSchema = z.strictObject({
  versions_dir: z.string().min(1).optional(),
  /** Where a version is realized; `{id}` is replaced by the version id. */
  home: z.string().min(1).optional(),
  cache_root: z.string().min(1).optional(),
  models_dir: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  /** The Comfy Registry API; default https://api.comfy.org (COMFY_REGISTRY_URL wins). */
  registry_url: z.string().min(1).optional(),
  concurrency: z.strictObject({ git: positive.optional(), network: positive.optional(), cpu: positive.optional() }).optional(),
  /** Replaces the default rules (HF_TOKEN → huggingface.co, CIVITAI_TOKEN → civitai.com). */
  auth: z.array(AuthRuleSchema).optional(),
  installer: z.enum(['auto', 'uv', 'pip']).optional(),
  link_mode: z.enum(['symlink', 'hardlink', 'copy']).optional(),
  timeouts: z.strictObject({
    compile_s: positive.optional(),
    install_s: positive.optional(),
    download_headers_s: positive.optional(),
    download_body_s: positive.optional(),
  }).optional(),
  /**
   * How long pip and uv wait for a package index to connect (and pip for each read), and how often they retry:
   * an index that does not answer fails a compile in seconds (pip's own defaults take minutes, per package).
   */
  index: z.strictObject({ timeout_s: positive.optional(), retries: z.number().int().min(0).max(10).optional() }).optional(),
  plugins: z.array(z.custom<TaskPlugin>(p => !!p && typeof p === 'object' && typeof (p as TaskPlugin).kind === 'string'
    && typeof (p as TaskPlugin).tasks === 'function' && typeof (p as TaskPlugin).run === 'function'
    && typeof (p as TaskPlugin).outputsStand === 'function', { error: 'a plugin needs kind, tasks(), run() and outputsStand()' })).optional(),
})
export type ConfigFile = z.input<typeof ConfigFileSchema>
