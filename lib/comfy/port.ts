import { createServer } from 'node:net'

export type PortProbe = { free: true; port: number } | { free: false; code: string }

/**
 * Binds the address and port for a moment to learn whether a server could listen there.
 * Port 0 asks the system for a free port, which is returned (free again once this resolves).
 */
export function probePort(host: string, port: number): Promise<PortProbe> {
  return new Promise(resolve => {
    const server = createServer()
    server.unref()
    server.once('error', (e: NodeJS.ErrnoException) => resolve({ free: false, code: e.code ?? e.message }))
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address ? address.port : port
      server.close(() => resolve({ free: true, port: bound }))
    })
  })
}

/** The host a client on this machine uses to reach a server listening on `listen`. */
export function connectHost(listen: string): string {
  const first = listen.split(',')[0]?.trim() ?? ''
  if (first === '' || first === '0.0.0.0') return '127.0.0.1'
  if (first === '::') return '[::1]'
  return first.includes(':') && !first.startsWith('[') ? `[${first}]` : first
}
