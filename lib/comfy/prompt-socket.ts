import { WebSocket } from 'undici'
import { err, ok, type Result } from '../result.ts'

/** A websocket message from ComfyUI, or the end of the connection. */
export type SocketEvent =
  | { type: string; data: Record<string, unknown> }
  | { type: '#closed'; data: { code: number } }

/** ComfyUI's `/ws?clientId=` as a queue of messages, read one at a time. */
export interface PromptSocket {
  /** The next message (`#closed` once the connection is gone); undefined when `signal` aborts first. */
  next(signal: AbortSignal): Promise<SocketEvent | undefined>
  close(): void
}

/** Opens the websocket; a reason instead when it cannot be opened within `timeoutMs`. */
export function openPromptSocket(url: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<Result<PromptSocket, string>> {
  return new Promise(resolveOpen => {
    const queue: SocketEvent[] = []
    let wake: (() => void) | undefined
    let closed = false
    const push = (event: SocketEvent) => { queue.push(event); wake?.() }
    let ws: WebSocket
    try {
      ws = new WebSocket(url, { headers })
    } catch (e) {
      resolveOpen(err((e as Error).message))
      return
    }
    ws.binaryType = 'arraybuffer'
    let settled = false
    const settle = (r: Result<PromptSocket, string>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolveOpen(r)
    }
    const timer = setTimeout(() => { settle(err(`no websocket within ${timeoutMs / 1000} s`)); socket.close() }, timeoutMs)
    const socket: PromptSocket = {
      async next(signal) {
        for (;;) {
          const event = queue.shift()
          if (event) return event
          if (signal.aborted) return undefined
          await new Promise<void>(resolve => {
            const done = () => { wake = undefined; signal.removeEventListener('abort', done); resolve() }
            wake = done
            signal.addEventListener('abort', done, { once: true })
          })
        }
      },
      close() {
        closed = true
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close()
      },
    }
    ws.addEventListener('open', () => settle(ok(socket)))
    ws.addEventListener('message', e => {
      if (typeof e.data !== 'string') return // binary frames carry previews
      try {
        const message = JSON.parse(e.data) as { type?: unknown; data?: unknown }
        if (typeof message.type === 'string') {
          push({ type: message.type, data: typeof message.data === 'object' && message.data !== null ? message.data as Record<string, unknown> : {} })
        }
      } catch { /* not JSON: ignore, as ComfyUI's own frontend does */ }
    })
    ws.addEventListener('error', e => settle(err((e as { message?: string }).message || 'the websocket failed')))
    ws.addEventListener('close', e => {
      settle(err(`the websocket closed (code ${e.code})`))
      if (!closed) push({ type: '#closed', data: { code: e.code } })
    })
  })
}
