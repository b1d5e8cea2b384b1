import type { Agent, Dispatcher } from 'undici'
import { arenaOnread } from './read-arena.ts'

let shared: Promise<Agent> | undefined

/**
 * The dispatcher downloads use unless given one. No redirect interceptor on purpose: redirects are followed
 * hop by hop in http-request.ts so a credential is computed for each hop's origin (the interceptor would
 * forward a custom auth header to another origin, undici#4917). Timeouts are set per request. Its sockets read
 * into reused memory (read-arena.ts), which the download sink hands back.
 * undici is imported on first use: loading it costs ~70 ms, which a no-op realize should not pay.
 */
export function sharedAgent(): Promise<Dispatcher> {
  shared ??= import('undici').then(({ Agent, buildConnector }) => new Agent({
    connections: 16,
    keepAliveTimeout: 4_000,
    // A connector per socket, since each socket's onread keeps its own place in the arena.
    connect: (opts, callback) => buildConnector({ timeout: 30_000, onread: arenaOnread() })(opts, callback),
  }))
  return shared
}

/** Closes the shared agent's sockets (for a process that wants to exit promptly). */
export async function closeSharedAgent(): Promise<void> {
  const a = shared
  shared = undefined
  await (await a)?.close()
}
