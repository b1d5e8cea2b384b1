/**
 * Variables holding a credential the tool itself sends (the fetch adapter's auth rules: HF_TOKEN, CIVITAI_TOKEN,
 * and those cache.config.ts names). They stay with their owner: git, pip, uv and install scripts never see them
 * (an install.py that prints its environment, a build backend that logs it). ComfyUI is not started through exec
 * and gets the user's environment whole.
 */
const withheld = new Set(['HF_TOKEN', 'CIVITAI_TOKEN', 'HUGGING_FACE_HUB_TOKEN'])

/** Adds the variables of the run's auth rules to those withheld from children (config resolution calls it). */
export function withholdFromChildren(names: Iterable<string>): void {
  for (const n of names) withheld.add(n)
}

/** `env` without the withheld credentials. */
export function withoutCredentials(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(env)) if (!withheld.has(k)) out[k] = v
  return out
}
