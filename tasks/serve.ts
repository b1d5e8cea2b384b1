import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { KeptComfy } from '../lib/comfy/kept-server.ts'
import { bucketSettingsOf } from '../lib/comfy/s3-store.ts'
import { realize } from '../lib/pipeline/realize.ts'
import { checkJob } from '../lib/runpod/job-payload.ts'
import { startLocalApi } from '../lib/runpod/local-api.ts'
import { runWorkerLoop } from '../lib/runpod/worker-loop.ts'
import { workerSettingsOf } from '../lib/runpod/worker-settings.ts'
import { renderDiagnostic } from '../lib/spec/diagnostic.ts'
import { redactSecrets } from '../lib/util/redact.ts'
import { bool, configFor, int, listenArg, printJson, str, versionId, EXIT, UsageError, type Command, type Io } from './_cli.ts'
import { launchVersion } from './_launch.ts'
import { exitCodeOf, prepareVersion, realizeFlagsHelp, rendererFor, secretsOf, summarize } from './_realize-common.ts'
import { runServeJob, type ServeJobSettings } from './_serve-job.ts'

const command: Command = {
  name: 'serve',
  summary: 'a RunPod serverless worker that keeps ComfyUI warm',
  locations: true,
  allowPositionals: 1,
  options: {
    concurrency: { type: 'string' }, 'local-api': { type: 'string' }, 'api-host': { type: 'string' }, 'test-input': { type: 'string' },
    timeout: { type: 'string' }, 'startup-timeout': { type: 'string' }, port: { type: 'string' }, listen: { type: 'string' },
    offline: { type: 'boolean' }, frozen: { type: 'boolean' },
  },
  help: `Usage: npx tsx tasks serve <id> [--concurrency N] [--local-api PORT [--api-host ADDR]] [--test-input FILE]
                 [--timeout S] [--startup-timeout S] [--port N] [--listen ADDR] [--offline] [--frozen]

A RunPod serverless worker. It realizes the version (a no-op in a built image: use --frozen --offline),
starts ComfyUI once and keeps it running, then takes jobs from RunPod as runpod-python does: a long poll
on RUNPOD_WEBHOOK_GET_JOB, each job run on the warm ComfyUI as run-handler runs it, its result posted to
RUNPOD_WEBHOOK_POST_OUTPUT, heartbeats to RUNPOD_WEBHOOK_PING every RUNPOD_PING_INTERVAL ms, progress
updates while a prompt runs; a job RunPod cancels is interrupted. ComfyUI is restarted only when it
dies; the job it was running fails with the last lines of its log. SIGTERM finishes the jobs in
flight, posts them, stops ComfyUI and exits.

Results are worker-comfyui's: {"images": [{"filename", "type": "base64" or "s3_url", "data"}],
"outputs", "errors"?, "status"?}, or {"error", "details"}. With BUCKET_ENDPOINT_URL,
BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY, files go to that bucket. A job's input may carry
"comfy_org_api_key" (else COMFY_ORG_API_KEY) and "timeout" (seconds, else --timeout).

Without RUNPOD_WEBHOOK_GET_JOB (on your machine):
  --local-api PORT   serve runpod-python's local test API on PORT: POST /run, /runsync, /status/{id},
                     /cancel/{id}, /health (as runpod-python's --rp_serve_api, with the same shapes)
  --api-host ADDR    the address the local API listens on (default 127.0.0.1; 0.0.0.0 in a container)
  --test-input FILE  run the job in FILE ({"input": {...}}), print its result and exit, as
                     runpod-python's --test_input does (default: ./test_input.json when it exists)

  --concurrency N    jobs at once on the one ComfyUI (default 1)
  --timeout S        interrupt a prompt after S seconds unless its input says "timeout" (default: none)
  --startup-timeout S  how long ComfyUI may take to start (default: launch.startup_timeout_s, 600)
  --port N, --listen ADDR  where ComfyUI listens (default: the spec's launch.port and launch.listen)
${realizeFlagsHelp(['offline', 'frozen'], 21)}

Exit codes: 0 after --test-input ran a job that succeeded, 1 when it failed or the version could not be
realized or started, 2 for a mistake in the call, the spec or the configuration, 130 after SIGTERM/Ctrl-C.`,
  async run(args, io) {
    const id = versionId(args)
    const concurrency = int(args, 'concurrency', 1, 64) ?? 1
    const localApiPort = int(args, 'local-api', 0, 65535)
    const testInput = str(args, 'test-input')
    const defaultTimeoutS = int(args, 'timeout', 1, 7 * 24 * 3600)
    const startupTimeoutS = int(args, 'startup-timeout', 1, 24 * 3600)
    const port = int(args, 'port', 0, 65535)
    const listen = listenArg(args)
    const apiHost = str(args, 'api-host') ?? '127.0.0.1'
    const worker = workerSettingsOf(io.env)
    if (!worker.ok) throw new UsageError(worker.error)
    const bucket = bucketSettingsOf(io.env)
    if (!bucket.ok) throw new UsageError(bucket.error)
    if (localApiPort !== undefined && testInput !== undefined) throw new UsageError('give --local-api PORT or --test-input FILE, not both')
    if (worker.value && (localApiPort !== undefined || testInput !== undefined)) {
      throw new UsageError('RUNPOD_WEBHOOK_GET_JOB is set: this is a RunPod worker; --local-api and --test-input are for running without it')
    }
    // The local test job is read before anything is realized: a mistake in it is found at once.
    const testFile = testInput ?? (!worker.value && localApiPort === undefined && existsSync(resolve(io.cwd, 'test_input.json')) ? 'test_input.json' : undefined)
    if (!worker.value && localApiPort === undefined && testFile === undefined) {
      throw new UsageError('nothing to serve: RUNPOD_WEBHOOK_GET_JOB is not set (RunPod sets it on a serverless worker); locally, give --local-api PORT or --test-input FILE')
    }
    const testJob = testFile !== undefined ? await readTestJob(io, testFile) : undefined

    const config = await configFor(args, io, { offline: bool(args, 'offline') || undefined })
    if (Array.isArray(config)) {
      for (const d of config) io.err(renderDiagnostic(d, io.cwd))
      return EXIT.usage
    }
    const prepared = await prepareVersion(io, { id, config, frozen: bool(args, 'frozen') })
    if (!prepared.ok) {
      if (prepared.error.reason === 'spec') { for (const d of prepared.error.diagnostics) io.err(renderDiagnostic(d, io.cwd)); return EXIT.usage }
      io.err(prepared.error.message)
      return io.signal.aborted ? EXIT.interrupted : EXIT.failed
    }
    const secrets = [...secretsOf(config, io.env), ...[io.env.RUNPOD_AI_API_KEY, io.env.BUCKET_SECRET_ACCESS_KEY, io.env.BUCKET_ACCESS_KEY_ID, io.env.COMFY_ORG_API_KEY].filter((v): v is string => !!v)]
    const realized = await realize({
      prepared: prepared.value, config, force: false, secrets, processEnv: io.env, signal: io.signal,
      renderer: rendererFor(io), stream: io.progressStream, onNote: line => io.err(line),
    })
    if (!realized.ok) { io.err(realized.error); return EXIT.usage }
    summarize(io, { version: id, home: prepared.value.home }, realized.value)
    if (!realized.value.ok) return exitCodeOf(realized.value)

    const comfy = new KeptComfy(
      signal => launchVersion(io, prepared.value, { ...(port !== undefined ? { port } : {}), ...(listen ? { listen } : {}), extraArgs: [], secrets, ownProcessGroup: true, ...(startupTimeoutS ? { startupTimeoutS } : {}) }, signal, true),
      line => io.err(redactSecrets(line, secrets)),
    )
    const first = await comfy.server()
    if (!first.ok) {
      io.err(`ComfyUI did not start: ${first.error.message}`)
      await comfy.stop()
      return io.signal.aborted ? EXIT.interrupted : first.error.reason === 'bad-args' ? EXIT.usage : EXIT.failed
    }
    io.err(`ComfyUI ready at ${first.value.url} (pid ${first.value.pid}); it stays up between jobs`)
    const jobs: ServeJobSettings = {
      comfy, secrets,
      ...(defaultTimeoutS ? { defaultTimeoutS } : {}), ...(bucket.value ? { bucket: bucket.value } : {}),
      ...(io.env.COMFY_ORG_API_KEY ? { apiKey: io.env.COMFY_ORG_API_KEY } : {}),
    }
    try {
      if (testJob) {
        const result = await runServeJob(jobs, testJob, { signal: io.signal })
        printJson(io, result)
        if (typeof result.error === 'string') io.err(`job failed: ${result.error}`)
        return io.signal.aborted ? EXIT.interrupted : typeof result.error === 'string' ? EXIT.failed : EXIT.ok
      }
      if (localApiPort !== undefined) {
        const api = await startLocalApi({
          host: apiHost, port: localApiPort, concurrency, onLog: line => io.err(line),
          handle: (job, signal) => runServeJob(jobs, job, { signal }),
        }).catch((e: NodeJS.ErrnoException) => { throw new UsageError(`--local-api ${localApiPort}: cannot listen on ${apiHost}:${localApiPort} (${e.code ?? e.message})`) })
        io.err(`local API at ${api.url} (POST /run, /runsync, /status/{id}, /cancel/{id}, /health)`)
        await new Promise<void>(r => io.signal.addEventListener('abort', () => r(), { once: true }))
        io.err('stopping: finishing the jobs already taken')
        await api.close()
        return EXIT.interrupted
      }
      const settings = worker.value!
      io.err(`worker ${settings.workerId}: taking jobs (${concurrency} at once)${settings.pingUrl ? `, heartbeat every ${settings.pingIntervalMs / 1000} s` : ', no heartbeat (RUNPOD_WEBHOOK_PING, RUNPOD_AI_API_KEY and RUNPOD_POD_ID are needed for one)'}`)
      const summary = await runWorkerLoop({
        settings, concurrency, stopTaking: io.signal, onLog: line => io.err(line), userAgent: 'comfy-vc serve',
        handle: (job, hooks) => runServeJob(jobs, job, { progress: hooks.progress, signal: hooks.signal }),
      })
      io.err(`stopped after ${summary.jobs} job(s), ${summary.failed} failed`)
      return EXIT.interrupted
    } finally {
      await comfy.stop()
    }
  },
}
export default command

/** `--test-input FILE`: `{"input": {...}, "id"?}`; the id defaults to runpod-python's `local_test`. */
async function readTestJob(io: Io, file: string) {
  const text = await readFile(resolve(io.cwd, file), 'utf8').catch(e => { throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`) })
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch (e) { throw new UsageError(`${file}: not valid JSON: ${(e as Error).message}`) }
  const withId = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { id: 'local_test', ...parsed } : parsed
  const job = checkJob(withId)
  if (typeof job === 'string') throw new UsageError(`${file}: ${job === 'a job must be a JSON object' ? job : 'a test input has the form {"input": {"workflow": {...}}}; "input" is missing'}`)
  return job
}
