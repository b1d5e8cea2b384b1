/**
 * A real HTTP server on 127.0.0.1 (port 0) for tests that download things. Nothing is mocked:
 * the code under test talks to it over a socket.
 *
 *   const srv = await startServer({ '/m.bin': { body: bytes, etag: '"v1"' } })
 *   srv.url                      // "http://127.0.0.1:41234"
 *   srv.routes['/late'] = {...}  // routes may be added or changed after start (redirect targets, say)
 *   srv.requests                 // every request seen: { method, path (with query), headers }
 *   srv.hits('/m.bin')           // how many requests reached a path
 *   await srv.close()            // also cuts kept-alive and stalled connections
 *
 * What a route can do (combine freely):
 * - `body`: the bytes served for GET; HEAD sends the same headers without them. Range (`bytes=a-` and `bytes=a-b`),
 *   If-Range (against `etag` or `lastModified`), 416 past the end. `ignoreRange` answers 200 to every range request.
 * - `etag`, `lastModified`, `headers`: response headers (`headers` may replace the default Content-Type); `linkedEtag` / `linkedSize` send `X-Linked-Etag` /
 *   `X-Linked-Size` (what Hugging Face sends, on the redirect itself when `redirect` is set too).
 * - `redirect`: answers `redirectStatus` (302) with this Location (absolute, or relative to the request).
 * - `token`: requires `Authorization: Bearer <token>` (or `tokenHeader: <token>`): 401 without it, 403 when wrong.
 * - `bytesPerSecond`: sends the body slowly, in small slices.
 * - `dropAfter`: sends that many body bytes, then destroys the socket; only for the first `dropTimes` (1) GETs.
 *   Bytes the client has not yet written when the socket goes are lost with it, so a test that counts them passes
 *   `dropWhen` (say, "the partial holds them all"): the drop waits until it is true.
 * - `holdAfter`: sends that many body bytes, then keeps the connection open without sending more until `holdUntil`
 *   resolves (never, without it); only for the first `holdTimes` (1) GETs. A test that must know how many bytes a
 *   client has (to kill it, or to let time pass between two parts) waits for that many instead of guessing from a
 *   rate. Not combined with `dropAfter` or `bytesPerSecond`.
 * - `failTimes` + `failStatus`: the first N requests get that status (503) with `Retry-After: 0`.
 * - `wrongBytes`: serves the body with one byte flipped (a corrupted mirror).
 * - `stall`: never answers (for header timeouts).
 * - `handler`: full control, for anything else.
 */
import { createServer, type IncomingMessage, type ServerResponse, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { pollUntil } from './poll-until.ts'

export interface Route {
  body?: Uint8Array
  status?: number
  headers?: Record<string, string>
  etag?: string
  lastModified?: string
  linkedEtag?: string
  linkedSize?: number
  redirect?: string
  redirectStatus?: number
  token?: string
  tokenHeader?: string
  bytesPerSecond?: number
  dropAfter?: number
  dropTimes?: number
  dropWhen?: () => boolean | Promise<boolean>
  holdAfter?: number
  holdUntil?: Promise<unknown>
  holdTimes?: number
  failTimes?: number
  failStatus?: number
  wrongBytes?: boolean
  ignoreRange?: boolean
  stall?: boolean
  handler?: (req: IncomingMessage, res: ServerResponse) => void
}

export interface SeenRequest { method: string; path: string; headers: IncomingHttpHeaders }

export interface TestServer {
  url: string
  port: number
  routes: Record<string, Route>
  requests: SeenRequest[]
  hits(path: string): number
  close(): Promise<void>
}

export async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const requests: SeenRequest[] = []
  const served = new Map<string, { fails: number; drops: number; holds: number }>()
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    const pathname = new URL(path, 'http://x').pathname
    requests.push({ method: req.method ?? 'GET', path, headers: { ...req.headers } })
    const route = routes[pathname]
    if (!route) { res.writeHead(404).end('not found'); return }
    if (route.handler) { route.handler(req, res); return }
    if (route.stall) return
    const count = served.get(pathname) ?? { fails: 0, drops: 0, holds: 0 }
    served.set(pathname, count)

    if (route.failTimes && count.fails < route.failTimes) {
      count.fails++
      res.writeHead(route.failStatus ?? 503, { 'retry-after': '0' }).end('try again')
      return
    }
    if (route.token !== undefined) {
      const name = (route.tokenHeader ?? 'authorization').toLowerCase()
      const got = req.headers[name]
      const want = route.tokenHeader ? route.token : `Bearer ${route.token}`
      if (got === undefined) { res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('unauthorized'); return }
      if (got !== want) { res.writeHead(403).end('forbidden'); return }
    }
    const common: Record<string, string> = { ...route.headers }
    if (route.linkedEtag !== undefined) common['x-linked-etag'] = route.linkedEtag
    if (route.linkedSize !== undefined) common['x-linked-size'] = String(route.linkedSize)
    if (route.redirect !== undefined) {
      res.writeHead(route.redirectStatus ?? 302, { ...common, location: route.redirect }).end()
      return
    }
    if (route.etag !== undefined) common.etag = route.etag
    if (route.lastModified !== undefined) common['last-modified'] = route.lastModified
    if (!route.body) { res.writeHead(route.status ?? 200, common).end(); return }

    let body = route.body
    if (route.wrongBytes && body.length > 0) {
      body = Buffer.from(body)
      body[body.length >> 1] = (body[body.length >> 1]! + 1) & 0xff
    }
    let start = 0
    let end = body.length - 1
    let status = route.status ?? 200
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''))
    const ifRange = req.headers['if-range']
    const rangeApplies = range && !route.ignoreRange && (ifRange === undefined || ifRange === route.etag || ifRange === route.lastModified)
    common['accept-ranges'] = 'bytes'
    if (rangeApplies) {
      start = Number(range[1])
      if (range[2]) end = Math.min(end, Number(range[2]))
      if (start >= body.length) {
        res.writeHead(416, { ...common, 'content-range': `bytes */${body.length}` }).end()
        return
      }
      status = 206
      common['content-range'] = `bytes ${start}-${end}/${body.length}`
    }
    const slice = body.subarray(start, end + 1)
    res.writeHead(status, { 'content-type': 'application/octet-stream', ...common, 'content-length': String(slice.length) })
    if (req.method === 'HEAD') { res.end(); return }

    if (route.holdAfter !== undefined && count.holds < (route.holdTimes ?? 1)) {
      count.holds++
      const at = Math.min(route.holdAfter, slice.length)
      res.write(slice.subarray(0, at))
      void (route.holdUntil ?? new Promise(() => {})).then(() => { if (!res.destroyed) res.end(slice.subarray(at)) })
      return
    }
    const drop = route.dropAfter !== undefined && count.drops < (route.dropTimes ?? 1)
    if (drop) count.drops++
    const limit = drop ? Math.min(route.dropAfter!, slice.length) : slice.length
    const dropNow = () => {
      const when = route.dropWhen
      if (!when) { res.socket?.destroy(); return }
      const destroy = () => res.socket?.destroy()
      // Ends early when the connection is gone anyway (the server closed after a failed test).
      pollUntil('the drop condition', async () => res.destroyed || await when()).then(destroy, destroy)
    }
    const finish = () => { if (drop) dropNow(); else res.end() }
    if (!route.bytesPerSecond) {
      if (drop) res.write(slice.subarray(0, limit), dropNow)
      else res.end(slice)
      return
    }
    const tickMs = 20
    const perTick = Math.max(1, Math.round(route.bytesPerSecond * tickMs / 1000))
    let sent = 0
    const tick = () => {
      if (res.destroyed) return
      const n = Math.min(perTick, limit - sent)
      if (n > 0) { res.write(slice.subarray(sent, sent + n)); sent += n }
      if (sent >= limit) { finish(); return }
      const t = setTimeout(() => { timers.delete(t); tick() }, tickMs)
      timers.add(t)
    }
    tick()
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    routes,
    requests,
    hits: path => requests.filter(r => new URL(r.path, 'http://x').pathname === path).length,
    close: async () => {
      for (const t of timers) clearTimeout(t)
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
