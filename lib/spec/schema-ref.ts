import { relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** This tool's JSON Schema of a spec, docs/version.schema.json. */
const SCHEMA_FILE = fileURLToPath(new URL('../../docs/version.schema.json', import.meta.url))

/**
 * The `$schema` a new spec in `versionsDir` gets: the path from that folder to the schema file, so an editor finds
 * it wherever the specs live (`../docs/version.schema.json` for this repository's versions/).
 */
export function schemaRef(versionsDir: string): string {
  return relative(versionsDir, SCHEMA_FILE).split(sep).join('/')
}
