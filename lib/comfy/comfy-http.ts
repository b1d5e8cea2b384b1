import { Blob } from 'node:buffer'
import { FormData, request } from 'undici'
import { err, ok, type Result } from '../result.ts'
import { redact } from '../util/redact.ts'

/** ComfyUI did not answer at all (refused, reset, no answer in time), as opposed to answering with an error status. */
export class Unreachable extends Error {
  constructor(readonly request: string, readonly reason: string) {
    super(`${request}: ${reason}`)
  }
}

/** Where ComfyUI is, split so that credentials in the URL never reach a message. */
export interface ComfyEndpoint {
  /** Base URL ending in '/', without credentials, query or fragment. */
  base: string
  /** The base for messages. */
  display: string
  /** Basic auth from `user:pass@` in the URL, sent with every request. */
  headers: Record<string, string>
}

export function comfyEndpoint(url: string): Result<ComfyEndpoint, string> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return err(`not a URL: ${redact(url)}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return err(`ComfyUI's URL must be http:// or https://, got ${redact(url)}`)
  const headers: Record<string, string> = {}
  if (u.username || u.password) {
    const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`
  }
  u.username = ''
  u.password = ''
  u.search = ''
  u.hash = ''
  if (!u.pathname.endsWith('/')) u.pathname += '/'
  return ok({ base: u.toString(), display: u.toString().replace(/\/$/, ''), headers })
}

export function endpointUrl(ep: ComfyEndpoint, path: string, query?: Record<string, string>): string {
  const u = new URL(path.replace(/^\//, ''), ep.base)
  for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v)
  return u.toString()
}

export function websocketUrl(ep: ComfyEndpoint, clientId: string): string {
  return endpointUrl(ep, 'ws', { clientId }).replace(/^http/, 'ws')
}

export interface HttpAnswer {
  status: number
  body: Buffer
}

export interface CallOptions {
  method?: 'GET' | 'POST'
  json?: unknown
  form?: FormData
  query?: Record<string, string>
  signal?: AbortSignal
  /** No answer within this time counts as unreachable; default 60 s. */
  timeoutMs?: number
}

/** One request; throws Unreachable when ComfyUI does not answer, and the caller's AbortError when aborted. */
export async function call(ep: ComfyEndpoint, path: string, opts: CallOptions = {}): Promise<HttpAnswer> {
  const timeoutMs = opts.timeoutMs ?? 60_000
  const signals = [AbortSignal.timeout(timeoutMs), ...(opts.signal ? [opts.signal] : [])]
  const headers: Record<string, string> = { ...ep.headers }
  let body: string | FormData | undefined
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(opts.json)
  } else if (opts.form) {
    body = opts.form
  }
  const method = opts.method ?? (body === undefined ? 'GET' : 'POST')
  try {
    const res = await request(endpointUrl(ep, path, opts.query), {
      method,
      headers,
      body,
      signal: AbortSignal.any(signals),
    })
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) }
  } catch (e) {
    if (opts.signal?.aborted) throw e
    throw new Unreachable(`${method} /${path}`, describeNetworkError(e, timeoutMs))
  }
}

/** Parses a JSON answer; undefined when the body is not JSON. */
export function jsonOf(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'))
  } catch {
    return undefined
  }
}

/** The first line of a non-JSON error body, for messages. */
export function textOf(answer: HttpAnswer): string {
  return answer.body.toString('utf8').trim().split('\n')[0]?.slice(0, 300) ?? ''
}

export async function isAlive(ep: ComfyEndpoint): Promise<boolean> {
  try {
    return (await call(ep, 'system_stats', { timeoutMs: 3_000 })).status === 200
  } catch {
    return false
  }
}

/** Puts an image into ComfyUI's input folder under its own name (overwriting), as worker-comfyui does. */
export async function uploadImage(ep: ComfyEndpoint, name: string, data: Buffer, signal?: AbortSignal): Promise<HttpAnswer> {
  const form = new FormData()
  form.append('image', new Blob([data]), name)
  form.append('overwrite', 'true')
  form.append('type', 'input')
  form.append('subfolder', '')
  return call(ep, 'upload/image', { form, signal, timeoutMs: 300_000 })
}

// --- internal ---

function describeNetworkError(e: unknown, timeoutMs: number): string {
  const error = e as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } }
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`
  const code = error.cause?.code ?? error.code
  const known = code ? NETWORK_ERRORS[code] : undefined
  if (known) return `${known} (${code})`
  return redact(code ?? error.cause?.message ?? error.message ?? String(e))
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused; is it running?',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
}
