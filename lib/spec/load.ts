import { lstat, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { Spec } from './schema.ts'
import type { Diagnostic } from './diagnostic.ts'
import type { LoadedSpec } from './parse-spec.ts'
import { err, ok, type Result } from '../result.ts'
import { sha256 } from '../util/hash.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { redact } from '../util/redact.ts'

// Defined beside the code that makes them, so parse-spec.ts needs nothing from this file.
export { displayPath } from './diagnostic.ts'
export type { LoadedSpec } from './parse-spec.ts'

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
  const problem = (message: string) => err([{ file, path: '(root)', message }])
  try {
    // Only a regular file: reading a FIFO would wait forever, a folder gives a cryptic EISDIR.
    const st = await stat(file)
    if (!st.isFile()) return problem(`is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; a spec is a JSON file`)
    text = await readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      const dangling = await lstat(file).then(l => l.isSymbolicLink(), () => false)
      return problem(dangling ? 'is a symbolic link to a file that does not exist' : 'no such spec (create it with `create`, or check --versions-dir)')
    }
    return problem(code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot read: ${(e as Error).message}`)
  }
  // A byte order mark or UTF-16 reads as an invisible "invalid symbol" at line 1 otherwise.
  if (text.startsWith('\uFEFF')) text = text.slice(1)
  else if (text.includes('\u0000')) return problem('is not UTF-8 text (UTF-16?); save it as UTF-8')
  const id = basename(file).replace(/\.json$/, '')
  // `<id's hash>-<text's hash>`: the entries of one id are found by their prefix, so a new one replaces the old.
  const idPart = sha256(id).slice(0, 16)
  const cached = opts.cacheDir ? join(opts.cacheDir, `${idPart}-${sha256(`${validator()}\0${id}\0${text}`)}.json`) : undefined
  if (cached) {
    const spec = await readFile(cached, 'utf8').then(t => JSON.parse(t) as Spec, () => undefined)
    if (spec) return ok({ spec, file, text })
  }
  const { parseSpecText } = await import('./parse-spec.ts')
  const parsed = parseSpecText(text, file, id)
  // A spec with credentials in it (a token in a URL) is not copied into the cache: it is validated each time.
  if (parsed.ok && cached && redact(text) === text) {
    await mkdir(opts.cacheDir!, { recursive: true })
    await writeFileAtomic(cached, JSON.stringify(parsed.value.spec))
    // One entry per id: every edit of a spec would otherwise add one for good.
    for (const name of await readdir(opts.cacheDir!).catch(() => [] as string[])) {
      if (name.startsWith(`${idPart}-`) && name.endsWith('.json') && join(opts.cacheDir!, name) !== cached) await rm(join(opts.cacheDir!, name), { force: true })
    }
  }
  return parsed
}
