import { createHash, createHmac, randomUUID } from 'node:crypto'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { SignatureV4 } from '@smithy/signature-v4'
import { err, ok, type Result } from '../result.ts'
import { uploadExtension, type StoreFile } from './outputs.ts'

/** `BUCKET_ENDPOINT_URL`, `BUCKET_ACCESS_KEY_ID`, `BUCKET_SECRET_ACCESS_KEY`: an S3-compatible bucket for job files. */
export interface BucketSettings {
  endpointUrl: string
  accessKeyId: string
  secretAccessKey: string
}

/** How long an uploaded file's URL stays valid: 7 days, as runpod-python's upload helper signs it. */
const URL_LIFETIME_S = 604_800

/**
 * The bucket settings from the environment's three variables; undefined without `BUCKET_ENDPOINT_URL`, a message
 * when it is set and the keys are not (worker-comfyui then silently writes files to a local folder instead).
 */
export function bucketSettingsOf(env: Record<string, string | undefined>): Result<BucketSettings | undefined, string> {
  const endpointUrl = env.BUCKET_ENDPOINT_URL?.trim()
  if (!endpointUrl) return ok(undefined)
  if (!/^https?:\/\/[^/]/.test(endpointUrl)) return err(`BUCKET_ENDPOINT_URL must be an http(s):// URL of an S3-compatible endpoint, got "${endpointUrl}"`)
  const missing = ['BUCKET_ACCESS_KEY_ID', 'BUCKET_SECRET_ACCESS_KEY'].filter(k => !env[k])
  if (missing.length) return err(`BUCKET_ENDPOINT_URL is set but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not; set both keys, or unset BUCKET_ENDPOINT_URL to return files as base64`)
  return ok({ endpointUrl, accessKeyId: env.BUCKET_ACCESS_KEY_ID!, secretAccessKey: env.BUCKET_SECRET_ACCESS_KEY! })
}

/**
 * Uploads a job's files as worker-comfyui does (through runpod-python's `upload_image`): object key
 * `<job id>/<8 random characters><extension>` in the bucket named for the month (`MM-YY`), content type
 * `image/<extension>`, handed out as a presigned GET URL valid for 7 days.
 */
export function s3Store(settings: BucketSettings, jobId: string, now: () => Date = () => new Date()): StoreFile {
  const endpoint = new URL(settings.endpointUrl)
  const credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
  const region = regionOf(endpoint.hostname)
  // Path-style addressing, as boto3 uses against a custom endpoint: the bucket is the first path segment.
  const client = new S3Client({ endpoint: settings.endpointUrl, region, credentials, forcePathStyle: true, maxAttempts: 3 })
  const signer = new SignatureV4({ service: 's3', region, credentials, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false })
  return async ({ filename, bytes }) => {
    const date = now()
    const bucket = `${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getFullYear() % 100).padStart(2, '0')}`
    const ext = uploadExtension(filename)
    const key = `${jobId}/${randomUUID().slice(0, 8)}${ext}`
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: `image/${ext.slice(1)}` }))
    const path = `${endpoint.pathname.replace(/\/$/, '')}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
    const signed = await signer.presign({
      method: 'GET', protocol: endpoint.protocol, hostname: endpoint.hostname, port: endpoint.port ? Number(endpoint.port) : undefined,
      path, query: {}, headers: { host: endpoint.host },
    }, { expiresIn: URL_LIFETIME_S, signingDate: date })
    const query = Object.entries(signed.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')
    return `${endpoint.protocol}//${endpoint.host}${path}?${query}`
  }
}

// --- internal ---

/** The region runpod-python reads from an endpoint (`…s3.<region>.…`, or a DigitalOcean Spaces subdomain). */
function regionOf(hostname: string): string {
  const s3 = /\.s3\.([^.]+)\./.exec(`.${hostname}`)
  if (s3?.[1]) return s3[1]
  const spaces = /^([^.]+)\.digitaloceanspaces\.com$/.exec(hostname)
  return spaces?.[1] ?? 'us-east-1'
}

type SourceData = string | ArrayBuffer | ArrayBufferView

const bytesOf = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength)

/** The hash SignatureV4 takes, on node:crypto (HMAC when given a secret). */
class NodeSha256 {
  private readonly hash
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret))
  }
  update(data: SourceData): void { this.hash.update(bytesOf(data)) }
  async digest(): Promise<Uint8Array> { return new Uint8Array(this.hash.digest()) }
}
