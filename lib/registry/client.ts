import type { Dispatcher } from 'undici'
import { err, ok, type Result } from '../result.ts'
import { requestFollowingRedirects, shownUrl } from '../fetch/http-request.ts'
import type { DownloadProblem } from '../fetch/problems.ts'


export interface RegistryOptions {
  baseUrl: string
  signal?: AbortSignal | undefined
  /** comfy-cli's 30 s. */
  timeoutMs?: number
  dispatcher?: Dispatcher | undefined
}

/** What the registry says of one version of a node (the fields clients read). */
export interface RegistryVersion { id: string; version: string; downloadUrl: string; dependencies: string[] }
/** What the registry says of a node. */
export interface RegistryNodeInfo { id: string; repository?: string; latest?: string }

export type RegistryProblem =
  | { reason: 'unknown-node'; id: string; message: string }
  /** `versions`: the ones that exist, newest first (empty when the registry would not list them). */
  | { reason: 'unknown-version'; id: string; version: string; versions: string[]; message: string }
  /** No answer, a timeout, a 5xx, or an answer that is not the API's shape: exit 1, naming the URL. */
  | { reason: 'unreachable'; url: string; message: string }

const SEMVER = /^\d+\.\d+\.\d+$/

/** `GET /nodes/{id}`: the node, its repository and latest version (no install is recorded, unlike `/install`). */
export async function registryNode(id: string, o: RegistryOptions): Promise<Result<RegistryNodeInfo, RegistryProblem>> {
  const got = await getJson(`/nodes/${encodeURIComponent(id)}`, o)
  if (!got.ok) return got
  if (got.value.status === 404) return err({ reason: 'unknown-node', id, message: notFound(id, o.baseUrl) })
  const body = got.value.body
  if (!isObject(body) || typeof body.id !== 'string') return err(badAnswer(got.value.url, 'a node'))
  const latest = isObject(body.latest_version) && typeof body.latest_version.version === 'string' ? body.latest_version.version : undefined
  return ok({
    id: body.id,
    ...(typeof body.repository === 'string' && body.repository ? { repository: body.repository } : {}),
    ...(latest && SEMVER.test(latest) ? { latest } : {}),
  })
}

/**
 * `GET /nodes/{id}/install?version=X.Y.Z`: the version's archive URL, as ComfyUI-Manager asks for it. A 404 is told
 * apart: an unknown node, or an unknown version (with the versions that exist).
 */
export async function registryVersion(id: string, version: string, o: RegistryOptions): Promise<Result<RegistryVersion, RegistryProblem>> {
  const got = await getJson(`/nodes/${encodeURIComponent(id)}/install?version=${encodeURIComponent(version)}`, o)
  if (!got.ok) return got
  if (got.value.status === 404 || got.value.status === 400) {
    const node = await registryNode(id, o)
    if (!node.ok) return node
    const versions = await registryVersions(id, o)
    const known = versions.ok ? versions.value : []
    const listed = known.length ? `; it has ${known.slice(0, 12).join(', ')}${known.length > 12 ? ` and ${known.length - 12} more` : ''}` : ''
    return err({ reason: 'unknown-version', id, version, versions: known, message: `${id} has no version ${version} in the registry${listed}` })
  }
  const body = got.value.body
  if (!isObject(body) || typeof body.version !== 'string' || typeof body.downloadUrl !== 'string') return err(badAnswer(got.value.url, 'a node version'))
  // An entry without an archive is "not available" to ComfyUI-Manager too.
  if (!body.downloadUrl) return err({ reason: 'unknown-version', id, version, versions: [], message: `${id}@${version}: the registry lists no archive for this version` })
  return ok({
    id: typeof body.id === 'string' ? body.id : id, version: body.version, downloadUrl: body.downloadUrl,
    dependencies: Array.isArray(body.dependencies) ? body.dependencies.filter((d): d is string => typeof d === 'string') : [],
  })
}

/** `GET /nodes/{id}/versions`: the published versions, newest first. */
export async function registryVersions(id: string, o: RegistryOptions): Promise<Result<string[], RegistryProblem>> {
  const got = await getJson(`/nodes/${encodeURIComponent(id)}/versions?statuses=NodeVersionStatusActive&statuses=NodeVersionStatusPending`, o)
  if (!got.ok) return got
  if (got.value.status === 404) return err({ reason: 'unknown-node', id, message: notFound(id, o.baseUrl) })
  const body = got.value.body
  if (!Array.isArray(body)) return err(badAnswer(got.value.url, 'a list of versions'))
  const versions = body.flatMap(v => (isObject(v) && typeof v.version === 'string' && SEMVER.test(v.version) ? [v.version] : []))
  return ok(versions.sort(compareVersions).reverse())
}

/** Semver order of X.Y.Z strings. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

// --- internal ---

type Loose = Record<string, unknown>
const isObject = (v: unknown): v is Loose => !!v && typeof v === 'object' && !Array.isArray(v)

const notFound = (id: string, baseUrl: string) =>
  `"${id}" is not a node in the Comfy Registry (${shownUrl(baseUrl)}); check the id on registry.comfy.org (it is the lower-case [project].name of the pack)`

const badAnswer = (url: URL, what: string): RegistryProblem =>
  ({ reason: 'unreachable', url: shownUrl(url), message: `${shownUrl(url)} did not answer with ${what} (is COMFY_REGISTRY_URL / registry_url the Comfy Registry API?)` })

/** One GET; a 404/400 is returned for the caller to explain, other errors are problems naming the URL. */
async function getJson(path: string, o: RegistryOptions): Promise<Result<{ status: number; body: unknown; url: URL }, RegistryProblem>> {
  const url = new URL(o.baseUrl.replace(/\/+$/, '') + path)
  const shown = shownUrl(url)
  const timeout = o.timeoutMs ?? 30_000
  const res = await requestFollowingRedirects(url, {
    method: 'GET', headers: { accept: 'application/json' }, rules: [], env: {}, signal: o.signal,
    headersTimeoutMs: timeout, bodyTimeoutMs: timeout, dispatcher: o.dispatcher,
  })
  if (!res.ok) return err(unreachable(shown, res.error))
  const { status, body } = res.value
  if (status === 404 || status === 400) { await body.dump().catch(() => {}); return ok({ status, body: undefined, url: res.value.url }) }
  if (status !== 200) {
    await body.dump().catch(() => {})
    return err({ reason: 'unreachable', url: shown, message: `the Comfy Registry answered ${status} to GET ${shown}${status >= 500 ? ' (a server error; try again later)' : ''}` })
  }
  let text = ''
  try {
    for await (const chunk of body) text += String(chunk)
    return ok({ status, body: JSON.parse(text) as unknown, url: res.value.url })
  } catch (e) {
    return err({ reason: 'unreachable', url: shown, message: `GET ${shown}: ${e instanceof SyntaxError ? 'the answer is not JSON' : (e as Error).message}` })
  }
}

const unreachable = (shown: string, p: DownloadProblem): RegistryProblem =>
  ({ reason: 'unreachable', url: shown, message: `the Comfy Registry did not answer (${p.message}); check COMFY_REGISTRY_URL / registry_url and the network, or use --offline with archives already in the store` })
