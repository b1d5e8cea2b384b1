import type { PythonRules } from '../spec/schema.ts'

/**
 * The spec's `python.*` fields that decide what is collected. Its own module so that collect.ts and downgrade.ts
 * both read it without importing each other.
 */
export type CollectRules = Partial<Pick<PythonRules, 'requirements' | 'constraints' | 'overrides' | 'blacklist' | 'downgrade_blacklist' | 'node_indexes'>>
