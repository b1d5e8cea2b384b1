import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Dispatcher } from 'undici'
import type { AuthRule } from '../config/schema.ts'
import { ok, type Result } from '../result.ts'
import { headMetadata } from '../fetch/head.ts'
import type { DownloadProblem } from '../fetch/problems.ts'
import { lookupUrl } from './store.ts'

export interface ModelPin {
  sha256?: string
  size?: number
  /** Where the values came from: the store's URL index, the host's HEAD metadata, the file system, or nowhere. */
  source: 'store' | 'host' | 'file' | 'none'
}

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
 * for file://, the size. Offline, only the index is asked. A HEAD failure is returned so validate can report it.
 */
export async function pinFromMetadata(o: PinOptions): Promise<Result<ModelPin, DownloadProblem>> {
  const known = await lookupUrl(o.modelsDir, o.url)
  if (known) return ok({ ...known, source: 'store' })
  if (o.url.startsWith('file:')) {
    const st = await stat(fileURLToPath(o.url)).catch(() => undefined)
    return ok(st?.isFile() ? { size: st.size, source: 'file' } : { source: 'none' })
  }
  if (o.offline) return ok({ source: 'none' })
  const head = await headMetadata(o.url, { rules: o.rules, env: o.env, signal: o.signal, timeoutMs: o.timeoutMs, dispatcher: o.dispatcher })
  if (!head.ok) return head
  const pin: ModelPin = { source: head.value.sha256 || head.value.size !== undefined ? 'host' : 'none' }
  if (head.value.sha256) pin.sha256 = head.value.sha256
  if (head.value.size !== undefined) pin.size = head.value.size
  return ok(pin)
}
