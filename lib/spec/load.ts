import { mkdir, readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { basename, join, relative, isAbsolute } from 'node:path'
import type { Spec } from './schema.ts'
import type { Diagnostic } from './diagnostic.ts'
import { err, ok, type Result } from '../result.ts'
import { sha256 } from '../util/hash.ts'
import { writeFileAtomic } from '../util/atomic.ts'

/** A spec as loaded: the validated value, plus the text it came from (for rewriting it in place). */
export interface LoadedSpec {
  spec: Spec
  file: string
  text: string
}

export const displayPath = (file: string): string => {
  const rel = relative(process.cwd(), file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

/**
 * What decides whether a text is a valid spec: the validation code itself. Read from the source
 * files, so any change to the schema makes every cached verdict stale.
 */
let validatorHash: string | undefined
const validator = (): string =>
  (validatorHash ??= sha256(['schema.ts', 'names.ts', 'parse-spec.ts'].map(f => readFileSync(new URL(`./${f}`, import.meta.url), 'utf8')).join('\0')))

/**
 * Reads and validates versions/<id>.json, reporting every problem at once. With `cacheDir`, a text
 * that validated before is taken from there without loading the schema (zod is most of a no-op
 * realize's start-up time otherwise).
 */
export async function loadSpecFile(file: string, opts: { cacheDir?: string } = {}): Promise<Result<LoadedSpec, Diagnostic[]>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const message = code === 'ENOENT' ? 'no such spec (create it with `create`, or check --versions-dir)' : `cannot read: ${(e as Error).message}`
    return err([{ file: displayPath(file), path: '(root)', message }])
  }
  const id = basename(file).replace(/\.json$/, '')
  const cached = opts.cacheDir ? join(opts.cacheDir, `${sha256(`${validator()}\0${id}\0${text}`)}.json`) : undefined
  if (cached) {
    const spec = await readFile(cached, 'utf8').then(t => JSON.parse(t) as Spec, () => undefined)
    if (spec) return ok({ spec, file, text })
  }
  const { parseSpecText } = await import('./parse-spec.ts')
  const parsed = parseSpecText(text, file, id)
  if (parsed.ok && cached) {
    await mkdir(opts.cacheDir!, { recursive: true })
    await writeFileAtomic(cached, JSON.stringify(parsed.value.spec))
  }
  return parsed
}
