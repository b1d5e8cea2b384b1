import type { AuthRule } from './schema.ts'

/** Who gets which token by default; kept apart from the zod schema, which a run without a config file never loads. */
export const DEFAULT_AUTH: AuthRule[] = [
  { host: 'huggingface.co', subdomains: true, env: 'HF_TOKEN', header: 'authorization' },
  { host: 'civitai.com', subdomains: true, env: 'CIVITAI_TOKEN', header: 'authorization' },
]
