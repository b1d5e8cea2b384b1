import type { ConfigFile } from './schema.ts'

/** Identity function that gives cache.config.ts its types; the file is validated when loaded. */
export const defineConfig = (config: ConfigFile): ConfigFile => config
