import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'

/** An index that gave no HTTP answer at all. */
export interface DeadIndex { url: string; reason: string }

/**
 * Asks each http(s) index for its root page once, in parallel, and returns those that give no HTTP answer within
 * `timeoutS` (refused, unknown host, silent). Any answer, 404 and 401 included, counts as alive: what it holds is
 * for the resolver to find out. pip retries a dead index for every package it looks up, so a dead one would cost
 * minutes; this costs one timeout.
 */
export async function deadIndexes(urls: readonly string[], timeoutS: number, signal?: AbortSignal): Promise<DeadIndex[]> {
  const probes = [...new Set(urls)].filter(u => /^https?:\/\//i.test(u)).map(u => probe(u, timeoutS, signal))
  return (await Promise.all(probes)).filter((d): d is DeadIndex => d !== undefined)
}

// --- internal ---

function probe(url: string, timeoutS: number, signal?: AbortSignal): Promise<DeadIndex | undefined> {
  return new Promise(resolve => {
    let target: URL
    try { target = new URL(url) } catch { resolve({ url, reason: 'not a valid URL' }); return }
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = request(target, { method: 'GET', headers: { 'user-agent': 'comfy-vc index probe' }, ...(signal ? { signal } : {}) }, res => {
      clearTimeout(timer)
      res.resume()
      req.destroy()
      resolve(undefined)
    })
    const timer = setTimeout(() => { req.destroy(); resolve({ url, reason: `no answer within ${timeoutS} s` }) }, timeoutS * 1000)
    req.on('error', e => { clearTimeout(timer); resolve(signal?.aborted ? undefined : { url, reason: (e as NodeJS.ErrnoException).code ?? e.message }) })
    req.end()
  })
}
