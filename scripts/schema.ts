// Writes docs/version.schema.json from the zod spec schema. `--check` writes nothing and exits 1 when the file is stale.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { renderSpecJsonSchema } from '../lib/spec/json-schema.ts'
import { writeFileAtomic } from '../lib/util/atomic.ts'

const target = fileURLToPath(new URL('../docs/version.schema.json', import.meta.url))
const fresh = renderSpecJsonSchema()
const current = await readFile(target, 'utf8').catch(() => undefined)

if (process.argv.includes('--check')) {
  if (current === fresh) console.log(`${target} is up to date`)
  else {
    console.error(`${target} is stale: run \`npm run schema\``)
    process.exitCode = 1
  }
} else if (current === fresh) {
  console.log(`${target} is up to date`)
} else {
  await writeFileAtomic(target, fresh)
  console.log(`wrote ${target}`)
}
