/**
 * An S3-compatible bucket endpoint on node:http, enough for PutObject and a presigned GetObject (path style:
 * `/<bucket>/<key>`). It keeps what was put, with the request's headers, and serves it back.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface S3Object { bucket: string; key: string; body: Buffer; headers: IncomingHttpHeaders }

export async function startS3Standin(): Promise<{ url: string; objects: S3Object[]; gets: URL[]; close(): Promise<void> }> {
  const objects: S3Object[] = []
  const gets: URL[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const [, bucket, ...key] = decodeURIComponent(url.pathname).split('/')
      if (req.method === 'PUT' && bucket && key.length) {
        objects.push({ bucket, key: key.join('/'), body: Buffer.concat(chunks), headers: req.headers })
        res.writeHead(200, { etag: '"x"' }).end()
        return
      }
      if (req.method === 'GET') {
        gets.push(url)
        const found = objects.find(o => o.bucket === bucket && o.key === key.join('/'))
        if (found && url.searchParams.get('X-Amz-Signature')) { res.writeHead(200).end(found.body); return }
      }
      res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>')
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, objects, gets,
    close: () => new Promise<void>(r => { server.close(() => r()); server.closeAllConnections() }),
  }
}
