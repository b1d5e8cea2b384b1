import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Dispatcher } from 'undici'
import type { AuthRule } from '../fetch/auth-rule.ts'
import { err, ok, type Result } from '../result.ts'
import { headFailure, headMetadata } from '../fetch/head.ts'
import { lookupUrl } from './store.ts'

export interface ModelPin {
  sha256?: string
  size?: number
  /** Where the values came from: the store's URL index, the host's HEAD metadata, the file system, or nowhere. */
  source: 'store' | 'host' | 'file' | 'none'
  /** Why the host gave no metadata (it refused HEAD, or did not answer it in time); not a failure: a GET may work. */
  headUnanswered?: string
}

/** Why a model could not be looked at. Messages are redacted. */
export type PinProblem =
  /** The URL names nothing: a file:// path that is not a file, or a host that says 404 or 410. The spec is wrong. */
  | { reason: 'missing'; message: string }
  /** The URL gives a web page, not a file (an HTML answer): the spec names the wrong URL. */
  | { reason: 'page'; message: string }
  /** The host could not be asked (no connection, a redirect no download would follow, cancelled), or a file not read. */
  | { reason: 'failed'; message: string }

export interface PinOptions {
  modelsDir: string
  url: string
  offline: boolean
  rules: readonly AuthRule[]
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal | undefined
  timeoutMs?: number
  dispatcher?: Dispatcher | undefined
}

/**
 * What `validate` can pin for a model without downloading it: the sha256 and size the store's index recorded for
 * the URL; else, for http(s), what the host publishes (a sha256 only from X-Linked-Etag, else just the size);
 * for file://, the size. Offline, only the index is asked. HEAD is best effort: a host that refuses it or does not
 * answer gives an empty pin with `headUnanswered`.
 */
export async function pinFromMetadata(o: PinOptions): Promise<Result<ModelPin, PinProblem>> {
  const known = await lookupUrl(o.modelsDir, o.url)
  if (known) return ok({ ...known, source: 'store' })
  if (o.url.startsWith('file:')) return pinFromFile(fileURLToPath(o.url))
  if (o.offline) return ok({ source: 'none' })
  const head = await headMetadata(o.url, { rules: o.rules, env: o.env, signal: o.signal, timeoutMs: o.timeoutMs, dispatcher: o.dispatcher })
  if (!head.ok) {
    if (head.error.reason === 'web-page') return err({ reason: 'page', message: head.error.message })
    const failure = headFailure(head.error)
    if (failure.kind === 'unanswered') return ok({ source: 'none', headUnanswered: failure.why })
    return err({ reason: failure.kind, message: head.error.message })
  }
  const pin: ModelPin = { source: head.value.sha256 || head.value.size !== undefined ? 'host' : 'none' }
  if (head.value.sha256) pin.sha256 = head.value.sha256
  if (head.value.size !== undefined) pin.size = head.value.size
  return ok(pin)
}

async function pinFromFile(path: string): Promise<Result<ModelPin, PinProblem>> {
  try {
    const st = await stat(path)
    if (st.isFile()) return ok({ size: st.size, source: 'file' })
    return err({ reason: 'missing', message: `${path} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}, not a model file` })
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return err({ reason: 'missing', message: `${path} does not exist` })
    return err({ reason: 'failed', message: `${path} cannot be read (${code ?? (e as Error).message})` })
  }
}
