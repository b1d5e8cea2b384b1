/**
 * A credential and the only hosts it may be sent to (cache.config.ts `auth`; config/schema.ts validates it).
 * The fetch adapter owns the type because it is the one that sends credentials (auth.ts); config only reads
 * rules from the user and hands them down.
 */
export interface AuthRule {
  /** Host name, e.g. "huggingface.co". */
  host: string
  /** Also send it to subdomains of `host` (cdn-lfs.huggingface.co, ...). */
  subdomains: boolean
  /** The environment variable that holds the token. */
  env: string
  /** Sent as `Authorization: Bearer <token>` unless another header is named. */
  header: string
}

/** Who gets which token when cache.config.ts names no `auth` (design §3: each token only to its own host). */
export const DEFAULT_AUTH: AuthRule[] = [
  { host: 'huggingface.co', subdomains: true, env: 'HF_TOKEN', header: 'authorization' },
  { host: 'civitai.com', subdomains: true, env: 'CIVITAI_TOKEN', header: 'authorization' },
]
