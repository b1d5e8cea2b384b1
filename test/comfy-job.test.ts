import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'undici'
import { formatJobProgress, parseJobInput, parseRunpodInput, runJob, UI_FORMAT_MESSAGE, type ApiWorkflow, type JobOutcome, type JobProgress } from '../lib/comfy/job.ts'
import { probePort } from '../lib/comfy/port.ts'
import { comfyEndpoint } from '../lib/comfy/comfy-http.ts'
import { fetchOutputs } from '../lib/comfy/outputs.ts'
import { startServer } from './helpers/http-server.ts'
import { makeStandinHome, startStandin, txt2imgWorkflow, type Standin } from './helpers/comfy-standin.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

let tmp = ''
let comfy: Standin

const errorOf = (o: JobOutcome): string => (o.ok ? '' : o.result.error)

async function getJson(url: string): Promise<any> {
  const res = await request(url)
  return JSON.parse(await res.body.text())
}

/** A stand-in with its own home and environment knobs, stopped after `fn`. */
async function withStandin<T>(name: string, env: Record<string, string>, fn: (s: Standin) => Promise<T>): Promise<T> {
  const s = await startStandin(await makeStandinHome(join(tmp, name)), env)
  try {
    return await fn(s)
  } finally {
    await s.stop()
  }
}

// --- against a running stand-in ---

const J = suite('comfy runJob')

J.before(guarded(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comfy-job-'))
  comfy = await startStandin(await makeStandinHome(join(tmp, 'home')))
}))
J.after(guarded(async () => {
  try { await comfy?.stop() } finally { await rm(tmp, { recursive: true, force: true }) }
}))

J('a txt2img job returns the saved PNG byte for byte, with progress', within(async () => {
  const progress: JobProgress[] = []
  const outcome = await runJob({ url: comfy.url, workflow: txt2imgWorkflow({ steps: 5 }), onProgress: p => progress.push(p) })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  const { images, outputs } = outcome.result
  assert.is(images.length, 1)
  const image = images[0]!
  assert.match(image.filename, /^ComfyUI_\d{5}_\.png$/)
  assert.is(image.type, 'base64')
  const data = Buffer.from(image.type === 'base64' ? image.data : '', 'base64')
  assert.equal(data, await readFile(join(comfy.home, 'output', image.filename)))
  assert.equal(data.subarray(0, 8), PNG_SIGNATURE)
  assert.equal(Object.keys(outputs), ['9'])
  assert.equal(outputs['9'], { images: [{ filename: image.filename, subfolder: '', type: 'output' }] }, 'outputs name the file; its bytes are in images only')
  assert.not.ok('errors' in outcome.result || 'status' in outcome.result)
  assert.equal(progress.map(p => p.value), [1, 2, 3, 4, 5])
  assert.ok(progress.every(p => p.max === 5 && p.nodeId === '3' && p.node === 'KSampler'))
  assert.is(formatJobProgress(progress.at(-1)!), 'KSampler [##########] 5/5')
}))

J('the same seed gives the same picture and another seed a different one', within(async () => {
  const run = async (seed: number) => {
    const outcome = await runJob({ url: comfy.url, workflow: txt2imgWorkflow({ seed }) })
    if (!outcome.ok) throw new Error(outcome.result.error)
    const image = outcome.result.images[0]!
    return image.type === 'base64' ? image.data : ''
  }
  const a = await run(7)
  assert.is(await run(7), a)
  assert.is.not(await run(8), a)
}))

J('images of a job file are uploaded first and LoadImage sees them', within(async () => {
  const first = await runJob({ url: comfy.url, workflow: txt2imgWorkflow({ seed: 99 }) })
  if (!first.ok) throw new Error(first.result.error)
  const png = first.result.images[0]!.type === 'base64' ? (first.result.images[0] as { data: string }).data : ''
  const job = JSON.stringify({
    input: {
      workflow: {
        '10': { class_type: 'LoadImage', inputs: { image: 'from-job.png' } },
        '11': { class_type: 'SaveImage', inputs: { images: ['10', 0], filename_prefix: 'roundtrip' } },
      },
      images: [{ name: 'from-job.png', image: `data:image/png;base64,${png}` }],
    },
  })
  const input = parseJobInput(job, 'job')
  if (!input.ok) throw new Error(input.error.message)
  const outcome = await runJob({ url: comfy.url, ...input.value })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  assert.equal(await readFile(join(comfy.home, 'input', 'from-job.png')), Buffer.from(png, 'base64'))
  const saved = outcome.result.images[0]!
  assert.match(saved.filename, /^roundtrip_\d{5}_\.png$/)
  assert.is(saved.type === 'base64' ? saved.data : '', png, 'decoded and saved again, the pixels are the uploaded ones')

  const missing = await runJob({ url: comfy.url, workflow: { ...input.value.workflow, '10': { class_type: 'LoadImage', inputs: { image: 'never-uploaded.png' } } } })
  assert.not.ok(missing.ok)
  assert.equal(missing.result, {
    error: 'ComfyUI refused the workflow: Prompt outputs failed validation',
    details: ['node 10 (LoadImage): image: Custom validation failed for node: Invalid image file: never-uploaded.png'],
  })
}))

J('a validation 400 is rendered per node', within(async () => {
  const workflow = txt2imgWorkflow({ ckpt: 'missing.safetensors' })
  workflow['3']!.inputs.steps = 0
  const outcome = await runJob({ url: comfy.url, workflow })
  assert.not.ok(outcome.ok)
  if (outcome.ok) return
  assert.is(outcome.result.error, 'ComfyUI refused the workflow: Prompt outputs failed validation')
  assert.equal(outcome.result.details, [
    'node 3 (KSampler): steps: Value 0 smaller than min of 1',
    "node 4 (CheckpointLoaderSimple): ckpt_name: Value not in list: 'missing.safetensors' not in ['demo.safetensors']",
  ])

  const unknown = await runJob({ url: comfy.url, workflow: { ...txt2imgWorkflow(), '3': { class_type: 'FancySampler', inputs: {} } } })
  assert.equal(unknown.result, { error: 'ComfyUI refused the workflow: Cannot execute because node FancySampler does not exist.', details: ["Node ID '#3'"] })

  const noOutputs = await runJob({ url: comfy.url, workflow: { '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } } } })
  assert.equal(noOutputs.result, { error: 'ComfyUI refused the workflow: Prompt has no outputs', details: [] })
}))

J('an execution error names the node, its class type and the message', within(async () => {
  const workflow: ApiWorkflow = { ...txt2imgWorkflow(), '20': { class_type: 'StandinRaise', inputs: { message: 'CUDA out of memory', images: ['8', 0] } } }
  delete workflow['9']
  const outcome = await runJob({ url: comfy.url, workflow })
  assert.not.ok(outcome.ok)
  if (outcome.ok) return
  assert.is(outcome.result.error, 'node 20 (StandinRaise) failed: CUDA out of memory')
  assert.equal(outcome.result.details.slice(0, 2), ['node 20 (StandinRaise)', 'RuntimeError: CUDA out of memory'])
  assert.ok(outcome.result.details.some(l => l.includes('raise RuntimeError(message)')), 'the traceback tail is included')
}))

J('every output kind is collected and temporary previews are skipped', within(async () => {
  const workflow: ApiWorkflow = {
    ...txt2imgWorkflow({ batch: 2 }),
    '10': { class_type: 'SaveAnimatedGIF', inputs: { images: ['8', 0], frame_rate: 4, filename_prefix: 'anim' } },
    '11': { class_type: 'StandinTone', inputs: { frequency: 440, seconds: 0.05, sample_rate: 8000 } },
    '12': { class_type: 'SaveAudio', inputs: { audio: ['11', 0], filename_prefix: 'audio/ComfyUI' } },
    '13': { class_type: 'ShowText', inputs: { text: 'a caption' } },
    '14': { class_type: 'PreviewImage', inputs: { images: ['8', 0] } },
  }
  const outcome = await runJob({ url: comfy.url, workflow })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  const { images, outputs } = outcome.result
  assert.equal(Object.keys(outputs), ['9', '10', '12', '13'], 'the preview node 14 is left out')
  assert.is(images.length, 4, 'every saved file once (two images, the gif, the audio), not the previews')
  const bytesOf = (name: string) => {
    const found = images.find(i => i.filename === name)
    return Buffer.from(found?.type === 'base64' ? found.data : '', 'base64')
  }
  const gif = (outputs['10']!.gifs as any[])[0]
  assert.match(gif.filename, /^anim_\d{5}\.gif$/)
  assert.is(gif.format, 'image/gif')
  assert.not.ok('data' in gif, 'outputs do not repeat the bytes')
  assert.equal(bytesOf(gif.filename), await readFile(join(comfy.home, 'output', gif.filename)))
  assert.is(bytesOf(gif.filename).subarray(0, 6).toString(), 'GIF89a')
  const audio = (outputs['12']!.audio as any[])[0]
  assert.is(audio.subfolder, 'audio')
  assert.equal(bytesOf(audio.filename), await readFile(join(comfy.home, 'output', 'audio', audio.filename)))
  assert.is(bytesOf(audio.filename).subarray(8, 12).toString(), 'WAVE')
  assert.equal(outputs['13'], { text: ['a caption'] })
}))

J('files mode writes the files under --out-dir instead of base64', within(async () => {
  const outDir = join(tmp, 'out')
  const workflow: ApiWorkflow = {
    ...txt2imgWorkflow(),
    '11': { class_type: 'StandinTone', inputs: { frequency: 220, seconds: 0.05, sample_rate: 8000 } },
    '12': { class_type: 'SaveAudio', inputs: { audio: ['11', 0], filename_prefix: 'audio/ComfyUI' } },
  }
  const outcome = await runJob({ url: comfy.url, workflow, output: 'files', outDir })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  const image = outcome.result.images[0]!
  assert.is(image.type, 'file')
  const path = image.type === 'file' ? image.path : ''
  assert.is(path, join(outDir, image.filename))
  assert.equal(await readFile(path), await readFile(join(comfy.home, 'output', image.filename)))
  const audio = (outcome.result.outputs['12']!.audio as any[])[0]
  assert.is(audio.path, join(outDir, 'audio', audio.filename))
  assert.equal(await readFile(audio.path), await readFile(join(comfy.home, 'output', 'audio', audio.filename)))
  assert.not.ok('data' in audio)
}))

J('a timeout interrupts the prompt', within(async () => {
  const outcome = await runJob({ url: comfy.url, workflow: txt2imgWorkflow({ steps: 2000 }), timeoutMs: 400 })
  assert.equal(outcome.result, { error: 'timed out after 0.4 s; the prompt was interrupted', details: ['while running node 3 (KSampler)'] })
  const history = await getJson(`${comfy.url}/history`)
  const last: any = Object.values(history).at(-1)
  assert.ok(last.status.messages.some((m: any[]) => m[0] === 'execution_interrupted'), JSON.stringify(last.status))
  const queue = await getJson(`${comfy.url}/queue`)
  assert.equal(queue, { queue_running: [], queue_pending: [] })
}))

J('aborting the job interrupts the prompt too', within(async () => {
  const ctl = new AbortController()
  const outcome = await runJob({
    url: comfy.url, workflow: txt2imgWorkflow({ steps: 2000 }), signal: ctl.signal,
    onProgress: p => { if (p.value === 3) ctl.abort() },
  })
  assert.equal(outcome.result, { error: 'cancelled; the prompt was interrupted', details: ['while running node 3 (KSampler)'] })
  const again = await runJob({ url: comfy.url, workflow: txt2imgWorkflow() })
  assert.ok(again.ok, 'ComfyUI is free for the next job')
}))

J('an unreachable ComfyUI is a clear error that never shows credentials', within(async () => {
  const probe = await probePort('127.0.0.1', 0)
  const port = probe.free ? probe.port : 9
  const outcome = await runJob({ url: `http://user:hunter2@127.0.0.1:${port}`, workflow: txt2imgWorkflow() })
  assert.not.ok(outcome.ok)
  assert.match(errorOf(outcome), new RegExp(`^cannot reach ComfyUI at http://127\\.0\\.0\\.1:${port} \\(POST /prompt\\): connection refused; is it running\\? \\(ECONNREFUSED\\)$`))
  assert.not.ok(JSON.stringify(outcome.result).includes('hunter2'))
}))

// --- stand-ins with knobs ---

J('ComfyUI killed mid-job gives "ComfyUI exited during the job"', within(async () => {
  await withStandin('dies', { STANDIN_DIE_AFTER_STEPS: '3' }, async s => {
    const outcome = await runJob({ url: s.url, workflow: txt2imgWorkflow({ steps: 10 }) })
    assert.equal(outcome.result, { error: 'ComfyUI exited during the job', details: ['while running node 3 (KSampler)'] })
    assert.equal(await s.server.exited, { code: null, signal: 'SIGKILL' })
  })
}))

J('without a websocket the job polls /history', within(async () => {
  await withStandin('no-ws', { STANDIN_REFUSE_WEBSOCKET: '1' }, async s => {
    const progress: JobProgress[] = []
    const outcome = await runJob({ url: s.url, workflow: txt2imgWorkflow(), onProgress: p => progress.push(p), pollIntervalMs: 50 })
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
    const image = outcome.result.images[0]!
    assert.equal(Buffer.from(image.type === 'base64' ? image.data : '', 'base64'), await readFile(join(s.home, 'output', image.filename)))
    assert.is(progress.length, 0, 'no websocket, no progress')
    assert.ok(s.server.logTail(200).some(l => l === 'GET /ws 403'))

    // A prompt that vanishes (ComfyUI restarted, history cleared) ends the job instead of polling forever.
    const job = runJob({ url: s.url, workflow: txt2imgWorkflow({ seed: 5, steps: 50 }), pollIntervalMs: 1_500 })
    for (let i = 0; i < 200 && Object.keys(await getJson(`${s.url}/history`)).length < 2; i++) await new Promise(r => setTimeout(r, 20))
    await request(`${s.url}/history`, { method: 'POST', body: '{"clear": true}' }).then(r => r.body.dump())
    assert.equal((await job).result, { error: 'ComfyUI lost the prompt: it is neither queued nor in its history (was ComfyUI restarted?)', details: [] })
  })
}))

J('a websocket dropped mid-job falls back to /history, and errors are still reported', within(async () => {
  await withStandin('ws-drops', { STANDIN_WS_CLOSE_AFTER_STEPS: '2' }, async s => {
    const progress: JobProgress[] = []
    const outcome = await runJob({ url: s.url, workflow: txt2imgWorkflow({ steps: 6 }), onProgress: p => progress.push(p), pollIntervalMs: 50 })
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
    assert.ok(progress.length >= 1 && progress.length < 6, `progress until the drop: ${progress.length}`)
    const image = outcome.result.images[0]!
    assert.equal(Buffer.from(image.type === 'base64' ? image.data : '', 'base64'), await readFile(join(s.home, 'output', image.filename)))
  })
  await withStandin('ws-drops-error', { STANDIN_WS_CLOSE_AFTER_STEPS: '1' }, async s => {
    const workflow: ApiWorkflow = { ...txt2imgWorkflow(), '20': { class_type: 'StandinRaise', inputs: { message: 'late failure', images: ['8', 0] } } }
    const outcome = await runJob({ url: s.url, workflow, pollIntervalMs: 50 })
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
    assert.equal(outcome.result.errors, ['node 20 (StandinRaise) failed: late failure'], 'the failure, read from the history entry')
    assert.is(outcome.result.images.length, 1, 'the image saved before the failure is kept')
  })
}))

J('outputs that validated run when others do not (200 with node_errors), the refusals in errors', within(async () => {
  const workflow: ApiWorkflow = { ...txt2imgWorkflow(), '10': { class_type: 'LoadImage', inputs: { image: 'never-uploaded.png' } },
    '11': { class_type: 'SaveImage', inputs: { filename_prefix: 'refused', images: ['10', 0] } } }
  const outcome = await runJob({ url: comfy.url, workflow })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  assert.equal(outcome.result.images.map(i => i.filename.replace(/\d{5}/, 'N')), ['ComfyUI_N_.png'])
  assert.equal(outcome.result.errors, ['node 10 (LoadImage): image: Custom validation failed for node: Invalid image file: never-uploaded.png'])
}))

J('a node failing after an image was saved keeps the image, the failure in errors', within(async () => {
  const workflow: ApiWorkflow = { ...txt2imgWorkflow(), '20': { class_type: 'StandinRaise', inputs: { message: 'late failure', images: ['8', 0] } } }
  const outcome = await runJob({ url: comfy.url, workflow, logTail: () => ['never shown: the job did not fail'] })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  assert.is(outcome.result.images.length, 1)
  assert.equal(await readFile(join(comfy.home, 'output', outcome.result.images[0]!.filename)),
    Buffer.from((outcome.result.images[0] as { data: string }).data, 'base64'))
  assert.equal(outcome.result.errors, ['node 20 (StandinRaise) failed: late failure'])
}))

J('a total failure ends with the last lines of ComfyUI\'s log', within(async () => {
  const workflow: ApiWorkflow = { ...txt2imgWorkflow(), '20': { class_type: 'StandinRaise', inputs: { message: 'boom', images: ['8', 0] } } }
  delete workflow['9']
  const outcome = await runJob({ url: comfy.url, workflow, logTail: () => comfy.server.logTail() })
  assert.not.ok(outcome.ok)
  if (outcome.ok) return
  assert.is(outcome.result.error, 'node 20 (StandinRaise) failed: boom')
  const at = outcome.result.details.indexOf("ComfyUI's log (last lines):")
  assert.ok(at > 0, outcome.result.details.join('\n'))
  assert.ok(outcome.result.details.slice(at).some(l => l.includes('!!! Exception during processing !!! boom')), 'ComfyUI\'s own account of it')
}))

J('an ExecutionBlocked error is reported in errors while the prompt goes on', within(async () => {
  const workflow: ApiWorkflow = { ...txt2imgWorkflow(),
    '30': { class_type: 'StandinBlock', inputs: { images: ['8', 0], message: 'not safe for work' } },
    '31': { class_type: 'SaveImage', inputs: { filename_prefix: 'gated', images: ['30', 0] } } }
  const outcome = await runJob({ url: comfy.url, workflow })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  assert.equal(outcome.result.errors, ['node 31 (SaveImage) was blocked: not safe for work'])
  assert.equal(outcome.result.images.map(i => i.filename.replace(/\d{5}/, 'N')), ['ComfyUI_N_.png'], 'the other branch saved its image')
}))

J('a prompt that saves no file is success_no_images', within(async () => {
  const outcome = await runJob({ url: comfy.url, workflow: { '1': { class_type: 'ShowText', inputs: { text: 'only words' } } } })
  assert.equal(outcome, { ok: true, result: { images: [], outputs: { '1': { text: ['only words'] } }, status: 'success_no_images' } })
}))

J('the api key reaches ComfyUI as extra_data.api_key_comfy_org; a store gets every file once', within(async () => {
  const stored: { filename: string; bytes: Buffer }[] = []
  const outcome = await runJob({ url: comfy.url, workflow: txt2imgWorkflow({ seed: 7 }), apiKey: 'comfyui-abc123',
    store: async file => { stored.push(file); return `https://bucket.example/${file.filename}` } })
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.result))
  const image = outcome.result.images[0]!
  assert.equal(outcome.result.images, [{ filename: image.filename, type: 's3_url', data: `https://bucket.example/${image.filename}` }])
  assert.equal(stored.map(f => f.bytes), [await readFile(join(comfy.home, 'output', image.filename))])
  const history = await getJson(`${comfy.url}/history`)
  const entry = Object.values(history).find((e: any) => e.outputs['9']?.images?.[0]?.filename === image.filename) as any
  assert.equal(entry.prompt[3].api_key_comfy_org, 'comfyui-abc123')
  const failing = await runJob({ url: comfy.url, workflow: txt2imgWorkflow({ seed: 8 }), store: async () => { throw new Error('bucket says no') } })
  assert.not.ok(failing.ok)
  assert.match(failing.ok ? '' : failing.result.details.join('\n'), /could not upload the output ComfyUI_\d{5}_\.png: bucket says no/)
}))

J.run()

// --- job files ---

const P = suite('comfy parseJobInput')

const tinyWorkflow = { '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'x', images: ['8', 0] } } }

P('a UI-format workflow is refused with how to export the API format', () => {
  const ui = JSON.stringify({ last_node_id: 9, nodes: [{ id: 9, type: 'SaveImage', widgets_values: ['x'] }], links: [], version: 0.4 })
  for (const r of [parseJobInput(ui, 'workflow'), parseJobInput(`{"input": {"workflow": ${ui}}}`, 'job')]) {
    assert.not.ok(r.ok)
    if (r.ok) continue
    assert.is(r.error.reason, 'ui-format')
    assert.is(r.error.message, UI_FORMAT_MESSAGE)
    assert.match(r.error.message, /UI-format workflow \(it has top-level nodes and links\).*Save \(API Format\).*Export \(API\)/)
  }
})

P('an API workflow is taken as is', () => {
  const r = parseJobInput(JSON.stringify(tinyWorkflow), 'workflow')
  assert.ok(r.ok)
  if (r.ok) assert.equal(r.value, { workflow: tinyWorkflow, images: [] })
})

P('job images: data URLs and plain base64 decode alike', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255])
  const job = { input: { workflow: tinyWorkflow, images: [
    { name: 'a.png', image: `data:image/png;base64,${bytes.toString('base64')}` },
    { name: 'b.png', image: bytes.toString('base64') },
  ] } }
  const r = parseJobInput(JSON.stringify(job), 'job')
  if (!r.ok) throw new Error(r.error.message)
  assert.equal(r.value.images.map(i => i.name), ['a.png', 'b.png'])
  assert.equal(r.value.images[0]!.data, bytes)
  assert.equal(r.value.images[1]!.data, bytes)
})

P('bad job files say what is wrong', () => {
  const cases: [string, 'workflow' | 'job', string, RegExp][] = [
    ['{"input": ', 'job', 'invalid-json', /^not valid JSON/],
    [JSON.stringify(tinyWorkflow), 'job', 'not-a-job', /"input" is missing; for a bare workflow use --workflow/],
    [JSON.stringify({ input: { workflow: tinyWorkflow } }), 'workflow', 'not-a-job', /RunPod job file.*--job/],
    [JSON.stringify({ '3': { inputs: {} } }), 'workflow', 'not-api-format', /node "3" has no class_type/],
    [JSON.stringify({ input: { workflow: tinyWorkflow, images: [{ name: 'x.png', image: 'not base64!' }] } }), 'job', 'bad-image', /input\.images\[0\] \(x\.png\): "image" is neither base64 nor a base64 data URL/],
    [JSON.stringify({ input: { workflow: tinyWorkflow, images: [{ name: '../x.png', image: 'AAAA' }] } }), 'job', 'bad-image', /must be a plain file name/],
    [JSON.stringify({ input: { workflow: tinyWorkflow, images: [{ name: 'x.png', image: 'AAAA' }, { name: 'x.png', image: 'AAAA' }] } }), 'job', 'bad-image', /used twice/],
  ]
  for (const [content, kind, reason, message] of cases) {
    const r = parseJobInput(content, kind)
    assert.not.ok(r.ok, content)
    if (r.ok) continue
    assert.is(r.error.reason, reason, content)
    assert.match(r.error.message, message)
  }
})

P('the progress bar', () => {
  assert.is(formatJobProgress({ node: 'KSampler', value: 5, max: 10 }), 'KSampler [#####.....] 5/10')
  assert.is(formatJobProgress({ node: 'KSampler', value: 0, max: 20 }), 'KSampler [..........] 0/20')
  assert.is(formatJobProgress({ node: 'Upscale', value: 3, max: 0 }), 'Upscale [..........] 3/0')
})

P.run()

const R = suite('comfy parseRunpodInput')

R('input given as a JSON string is parsed; its key and timeout are read', () => {
  const input = { workflow: tinyWorkflow, comfy_org_api_key: 'comfyui-k', timeout: 90 }
  const r = parseRunpodInput(JSON.stringify(input))
  assert.equal(r, { ok: true, value: { workflow: tinyWorkflow, images: [], apiKey: 'comfyui-k', timeoutS: 90 } })
  const job = parseJobInput(JSON.stringify({ input: JSON.stringify(input) }), 'job')
  assert.ok(job.ok && job.value.apiKey === 'comfyui-k')
})

R('an input that is not an object (or a JSON string of one) is refused saying so', () => {
  assert.equal(parseRunpodInput('{"workflow": '), { ok: false, error: { reason: 'invalid-json', message: '"input" is a string that is not valid JSON: ' + (() => { try { JSON.parse('{"workflow": ') } catch (e) { return (e as Error).message } return '' })() } })
  const list = parseRunpodInput([tinyWorkflow])
  assert.is(list.ok ? '' : list.error.message, '"input" must be an object {"workflow": {...}, "images": [...]} (or a JSON string of one), found an array')
  const timeout = parseRunpodInput({ workflow: tinyWorkflow, timeout: -1 })
  assert.is(timeout.ok ? '' : timeout.error.message, 'input.timeout must be a number of seconds above 0')
})

R.run()

const O = suite('comfy fetchOutputs')

O('a file /view cannot give is reported in errors and the others are still returned', within(async () => {
  const srv = await startServer({
    '/view': { handler: (req, res) => {
      const name = new URL(req.url ?? '/', 'http://x').searchParams.get('filename')
      if (name === 'good.png') res.writeHead(200).end('PNGDATA')
      else res.writeHead(404).end()
    } },
  })
  try {
    const ep = comfyEndpoint(srv.url)
    if (!ep.ok) throw new Error(ep.error)
    const got = await fetchOutputs(ep.value, {
      '9': { images: [{ filename: 'good.png', subfolder: '', type: 'output' }, { filename: 'gone.png', subfolder: 'x', type: 'output' }] },
    }, { output: 'base64' })
    assert.equal(got.images, [{ filename: 'good.png', type: 'base64', data: Buffer.from('PNGDATA').toString('base64') }])
    assert.equal(got.errors, ['could not fetch the output x/gone.png (output): HTTP 404'])
    assert.equal(got.outputs['9']!.images, [{ filename: 'good.png', subfolder: '', type: 'output' }, { filename: 'gone.png', subfolder: 'x', type: 'output' }])
  } finally {
    await srv.close()
  }
}))

O.run()
