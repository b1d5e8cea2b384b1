import { randomUUID } from 'node:crypto'
import { statSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { runJob, parseJobInput, parseImageOption, formatJobProgress, type JobImage } from '../lib/comfy/job.ts'
import { bucketSettingsOf, s3Store } from '../lib/comfy/s3-store.ts'
import { redactSecrets } from '../lib/util/redact.ts'
import { realize } from '../lib/pipeline/realize.ts'
import { renderDiagnostic } from '../lib/spec/diagnostic.ts'
import { bool, configFor, int, list, printJson, str, versionId, writableDirArg, EXIT, UsageError, type Command, type Io, type ParsedArgs } from './_cli.ts'
import { exitCodeOf, prepareVersion, realizeFlagsHelp, rendererFor, secretsOf, summarize } from './_realize-common.ts'
import { announceReady, launchForeground, forwardIfKept } from './_launch.ts'

const command: Command = {
  name: 'run-handler',
  summary: 'run one RunPod-style job headless',
  locations: true,
  allowPositionals: 1,
  options: {
    workflow: { type: 'string' }, job: { type: 'string' }, image: { type: 'string', multiple: true },
    output: { type: 'string' }, 'out-file': { type: 'string' }, 'out-dir': { type: 'string' }, timeout: { type: 'string' },
    url: { type: 'string' }, 'keep-server': { type: 'boolean' }, offline: { type: 'boolean' }, frozen: { type: 'boolean' },
    'startup-timeout': { type: 'string' },
  },
  help: `Usage: npx tsx tasks run-handler <id> (--workflow FILE | --job FILE) [--image NAME=PATH]...
                 [--output base64|files] [--out-file F] [--out-dir D] [--timeout S] [--url URL] [--keep-server]
                 [--startup-timeout S] [--offline] [--frozen]

Runs one job the way a RunPod serverless worker does and prints its result as JSON, in worker-comfyui's
shape: {"images": [{"filename", "type": "base64" or "s3_url", "data"}], "outputs": {...}, "errors"?,
"status"?}. "images" holds every output file (images, gifs and videos, audio) once; "outputs" lists
every output by node, files by name. Outputs that ran are kept when others failed (the failures are in
"errors"); a job that saved no file and failed is {"error", "details"} with exit code 1.

With BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY set, files are uploaded to
that S3-compatible bucket and returned as "s3_url". input.comfy_org_api_key (or COMFY_ORG_API_KEY)
reaches ComfyUI's API nodes as extra_data.api_key_comfy_org.

Without --url the version is realized (only what is not up to date), ComfyUI is started on a free
port, the job runs, and ComfyUI is stopped (--keep-server leaves it running until Ctrl-C).

  --workflow FILE   an API-format workflow (in ComfyUI: Workflow > Export (API))
  --job FILE        a RunPod job: {"input": {"workflow": {...}, "images": [{"name", "image"}]}}
  --image NAME=PATH upload a local image as NAME before the prompt (repeatable)
  --output MODE     base64 (default): file contents in the result; files: written to --out-dir
  --out-file F      write the result JSON to F instead of stdout
  --out-dir D       where --output files writes the outputs
  --timeout S       interrupt the prompt after S seconds (default: input.timeout, else no limit)
  --startup-timeout S  how long ComfyUI may take to start (default: launch.startup_timeout_s, 600)
  --url URL         use a running ComfyUI instead of starting one
  --keep-server     leave the ComfyUI it started running until Ctrl-C
${realizeFlagsHelp(['offline', 'frozen'], 20)}

Every failure is the {"error", "details"} document too: exit 2 for a mistake in the call, the spec or
the configuration, 1 when the version could not be realized or the job failed, 130 when interrupted.`,
  errorDocument: (error, details) => ({ error, details }),
  async run(args, io) {
    const id = versionId(args)
    // run-handler's stdout is always one JSON document, errors included.
    const fail = async (code: number, error: string, details: string[] = []) => {
      await emit(io, args.values, { error, details })
      return code
    }
    const outputMode = str(args, 'output') ?? 'base64'
    if (outputMode !== 'base64' && outputMode !== 'files') throw new UsageError(`--output takes "base64" or "files", got "${outputMode}"`)
    if (outputMode === 'files' && !str(args, 'out-dir')) throw new UsageError('--output files needs --out-dir D')
    const input = await readJobInput(args, io)
    const timeoutS = int(args, 'timeout', 1, 7 * 24 * 3600) ?? input.timeoutS
    const startupTimeoutS = int(args, 'startup-timeout', 1, 24 * 3600)
    const bucket = bucketSettingsOf(io.env)
    if (!bucket.ok) throw new UsageError(bucket.error)
    // Where the result goes is checked now: a job's result is not thrown away after minutes of work.
    const outDir = str(args, 'out-dir')
    if (outDir !== undefined) writableDirArg(io, '--out-dir', outDir)
    const outFile = str(args, 'out-file')
    if (outFile !== undefined) {
      if (statSync(resolve(io.cwd, outFile), { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--out-file ${outFile}: is a folder; give a file name`)
      writableDirArg(io, '--out-file', dirname(outFile))
    }
    const job = {
      workflow: input.workflow, images: input.images, output: outputMode as 'base64' | 'files',
      ...(outDir ? { outDir: resolve(io.cwd, outDir) } : {}), ...(timeoutS ? { timeoutMs: timeoutS * 1000 } : {}),
      signal: io.signal, onProgress: progressPrinter(io),
      ...(input.apiKey ?? io.env.COMFY_ORG_API_KEY ? { apiKey: input.apiKey ?? io.env.COMFY_ORG_API_KEY } : {}),
      ...(bucket.value && outputMode === 'base64' ? { store: s3Store(bucket.value, input.id) } : {}),
    }
    const url = str(args, 'url')
    if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url takes http(s)://HOST:PORT of a running ComfyUI, got "${url}"`)
    if (url) {
      const code = await finish(io, args.values, await runJob({ ...job, url }))
      return io.signal.aborted ? EXIT.interrupted : code
    }

    const config = await configFor(args, io, { offline: bool(args, 'offline') || undefined })
    if (Array.isArray(config)) {
      for (const d of config) io.err(renderDiagnostic(d, io.cwd))
      return fail(EXIT.usage, 'the configuration has problems', config.map(d => renderDiagnostic(d, io.cwd)))
    }
    const prepared = await prepareVersion(io, { id, config, frozen: bool(args, 'frozen') })
    if (!prepared.ok) {
      if (prepared.error.reason === 'spec') {
        const lines = prepared.error.diagnostics.map(d => renderDiagnostic(d, io.cwd))
        for (const l of lines) io.err(l)
        return fail(EXIT.usage, `the spec of ${id} has problems`, lines)
      }
      io.err(prepared.error.message)
      return fail(io.signal.aborted ? EXIT.interrupted : EXIT.failed, prepared.error.message)
    }
    const secrets = [...secretsOf(config, io.env), ...[io.env.BUCKET_SECRET_ACCESS_KEY, io.env.COMFY_ORG_API_KEY, input.apiKey].filter((v): v is string => !!v)]
    const realized = await realize({
      prepared: prepared.value, config, force: false, secrets, processEnv: io.env, signal: io.signal,
      renderer: rendererFor(io), stream: io.progressStream, onNote: line => io.err(line),
    })
    if (!realized.ok) { io.err(realized.error); return fail(EXIT.usage, realized.error) }
    summarize(io, { version: id, home: prepared.value.home }, realized.value)
    if (!realized.value.ok) {
      const details = realized.value.tasks.filter(t => t.status === 'failed').map(t => `${t.id}: ${t.error}`)
      return fail(exitCodeOf(realized.value), realized.value.cancelled ? 'interrupted while realizing the version' : 'the version could not be realized', details)
    }
    const launched = await launchForeground(io, prepared.value, { port: 0, extraArgs: [], secrets, ...(startupTimeoutS ? { startupTimeoutS } : {}) }, { quietLog: true })
    if (!launched.ok) return fail(io.signal.aborted ? EXIT.interrupted : launched.error.reason === 'bad-args' ? EXIT.usage : EXIT.failed, 'ComfyUI did not start', launched.error.message.split('\n'))
    announceReady(io, launched.value, true)
    try {
      const code = await finish(io, args.values, await runJob({ ...job, url: launched.value.url, logTail: () => launched.value.logTail().map(l => redactSecrets(l, secrets)) }))
      if (bool(args, 'keep-server') && !io.signal.aborted) {
        io.err(`ComfyUI keeps running at ${launched.value.url} (Ctrl-C to stop it)`)
        await forwardIfKept(io, launched.value)
      }
      return io.signal.aborted ? EXIT.interrupted : code
    } finally {
      await launched.value.stop()
    }
  },
}
export default command

async function readJobInput(args: ParsedArgs, io: Io) {
  const workflow = str(args, 'workflow')
  const jobFile = str(args, 'job')
  if (!!workflow === !!jobFile) throw new UsageError('give exactly one of --workflow FILE or --job FILE')
  const file = (workflow ?? jobFile)!
  const text = await readFile(resolve(io.cwd, file), 'utf8').catch(e => { throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`) })
  const parsed = parseJobInput(text, workflow ? 'workflow' : 'job')
  if (!parsed.ok) throw new UsageError(`${file}: ${parsed.error.message}`)
  const images: JobImage[] = [...parsed.value.images]
  for (const option of list(args, 'image')) {
    const img = parseImageOption(option)
    if (!img.ok) throw new UsageError(img.error)
    const data = await readFile(resolve(io.cwd, img.value.path)).catch(e => { throw new UsageError(`--image ${option}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`) })
    images.push({ name: img.value.name, data })
  }
  // The job's id names its files in the bucket (`<id>/…`), as a RunPod job's does.
  const id = jobFile ? idOf(text) : undefined
  return { ...parsed.value, images, id: id ?? `run-handler-${randomUUID()}` }
}

function idOf(text: string): string | undefined {
  const job = JSON.parse(text) as { id?: unknown }
  return typeof job.id === 'string' && /^[\w.-]{1,128}$/.test(job.id) ? job.id : undefined
}

/** A progress bar on stderr, at most a few updates a second. */
function progressPrinter(io: Io) {
  let last = 0
  return (p: Parameters<typeof formatJobProgress>[0]) => {
    const now = Date.now()
    if (now - last < 250 && p.value !== p.max) return
    last = now
    io.err(formatJobProgress(p))
  }
}

async function finish(io: Io, values: Record<string, unknown>, outcome: Awaited<ReturnType<typeof runJob>>): Promise<number> {
  await emit(io, values, outcome.result)
  if (!outcome.ok) io.err(`job failed: ${outcome.result.error}`)
  // A partial result (some outputs failed, the others are in it) is a job that failed in part: exit 1 as well.
  else if (outcome.result.errors) io.err(`part of the job failed:\n${outcome.result.errors.map(e => `  ${e}`).join('\n')}`)
  return outcome.ok && !outcome.result.errors ? EXIT.ok : EXIT.failed
}

/** The result as one JSON document: on stdout, or in --out-file. */
async function emit(io: Io, values: Record<string, unknown>, result: unknown): Promise<void> {
  const outFile = typeof values['out-file'] === 'string' ? resolve(io.cwd, values['out-file']) : undefined
  if (!outFile) { printJson(io, result); return }
  await mkdir(dirname(outFile), { recursive: true })
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`)
  io.err(`result written to ${outFile}`)
}
