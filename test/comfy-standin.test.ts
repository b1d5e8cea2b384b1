import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Blob } from 'node:buffer'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { FormData, request, WebSocket } from 'undici'
import { makeStandinHome, startStandin, txt2imgWorkflow, type Standin } from './helpers/comfy-standin.ts'
import { guarded } from './helpers/hooks.ts'
import { within } from './helpers/within.ts'

const GOOD_NODE = `
class DemoInvert:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",)}}
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    CATEGORY = "demo"
    def run(self, images):
        return (images,)

NODE_CLASS_MAPPINGS = {"DemoInvert": DemoInvert}
NODE_DISPLAY_NAME_MAPPINGS = {"DemoInvert": "Invert (demo)"}
`

let tmp = ''
let comfy: Standin

async function http(path: string, init: { method?: string; headers?: Record<string, string>; body?: string | FormData } = {}) {
  const res = await request(`${comfy.url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body })
  const body = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, body, json: () => JSON.parse(body.toString()) }
}

const S = suite('comfy stand-in')

S.before(guarded(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'comfy-standin-'))
  const home = await makeStandinHome(join(tmp, 'home'), {
    customNodes: { 'demo-nodes': GOOD_NODE, 'broken-node': 'import torch_that_is_not_installed\n' },
  })
  await mkdir(join(home, 'custom_nodes', '.disabled', 'off-node'), { recursive: true })
  await writeFile(join(home, 'custom_nodes', '.disabled', 'off-node', '__init__.py'), GOOD_NODE.replaceAll('DemoInvert', 'DisabledNode'))
  // A model linked from a store elsewhere, as realize links them.
  await mkdir(join(tmp, 'store'), { recursive: true })
  await writeFile(join(tmp, 'store', 'blob'), 'weights')
  await mkdir(join(home, 'models', 'checkpoints', 'sdxl'), { recursive: true })
  await symlink(join(tmp, 'store', 'blob'), join(home, 'models', 'checkpoints', 'sdxl', 'linked.safetensors'))
  comfy = await startStandin(home)
}))
S.after(guarded(async () => {
  try { await comfy?.stop() } finally { await rm(tmp, { recursive: true, force: true }) }
}))

S('custom nodes add classes; a broken one is reported and skipped; .disabled is not loaded', within(async () => {
  const info = (await http('/object_info')).json()
  assert.is(info.DemoInvert.display_name, 'Invert (demo)')
  assert.is(info.DemoInvert.python_module, 'custom_nodes.demo-nodes')
  assert.not.ok('DisabledNode' in info)
  const log = comfy.server.logTail(200)
  assert.ok(log.some(l => /seconds \(IMPORT FAILED\): .*broken-node$/.test(l)), log.join('\n'))
  assert.ok(log.some(l => /^\s+\d+\.\d seconds: .*demo-nodes$/.test(l)))
}))

S('linked model files are listed in the loader options', within(async () => {
  const info = (await http('/api/object_info/CheckpointLoaderSimple')).json()
  assert.equal(info.CheckpointLoaderSimple.input.required.ckpt_name, [['demo.safetensors', 'sdxl/linked.safetensors']])
}))

S('a request whose Origin does not match a loopback Host is refused', within(async () => {
  const host = `127.0.0.1:${comfy.port}`
  assert.is((await http('/system_stats', { headers: { origin: 'http://evil.example' } })).status, 403)
  assert.is((await http('/system_stats', { headers: { origin: `http://${host}` } })).status, 200)
  assert.is((await http('/api/system_stats')).status, 200)
}))

S('/view refuses paths that leave its folder and 404s missing files', within(async () => {
  assert.is((await http('/view?filename=../main.py&type=output')).status, 400)
  assert.is((await http('/view?filename=main.py&subfolder=../..&type=output')).status, 403)
  assert.is((await http('/view?filename=nothing.png&type=output')).status, 404)
  assert.is((await http('/view?filename=x.png&type=secret')).status, 400)
}))

S('uploads keep different content apart and reuse the name for the same content', within(async () => {
  const upload = async (content: string, overwrite: boolean) => {
    const form = new FormData()
    form.append('image', new Blob([content]), 'same.png')
    if (overwrite) form.append('overwrite', 'true')
    return (await http('/upload/image', { method: 'POST', body: form })).json()
  }
  assert.equal(await upload('one', false), { name: 'same.png', subfolder: '', type: 'input' })
  assert.equal(await upload('one', false), { name: 'same.png', subfolder: '', type: 'input' })
  assert.equal(await upload('two', false), { name: 'same (1).png', subfolder: '', type: 'input' })
  assert.equal(await upload('three', true), { name: 'same.png', subfolder: '', type: 'input' })
  assert.is(await readFile(join(comfy.home, 'input', 'same.png'), 'utf8'), 'three')
  assert.is(await readFile(join(comfy.home, 'input', 'same (1).png'), 'utf8'), 'two')
}))

S('websocket messages come in ComfyUI order, only to the prompt\'s client', within(async () => {
  const clientId = randomUUID()
  const mine: { type: string; data: any }[] = []
  const others: string[] = []
  const open = (id: string, sink: (m: { type: string; data: any }) => void) => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`${comfy.url.replace('http', 'ws')}/ws?clientId=${id}`)
    ws.addEventListener('open', () => resolve(ws))
    ws.addEventListener('error', () => reject(new Error('websocket failed')))
    ws.addEventListener('message', e => sink(JSON.parse(String(e.data))))
  })
  const ws = await open(clientId, m => mine.push(m))
  const bystander = await open(randomUUID(), m => others.push(m.type))
  const done = new Promise<void>(resolve => ws.addEventListener('message', e => {
    const m = JSON.parse(String(e.data))
    if (m.type === 'executing' && m.data.node === null) resolve()
  }))
  const workflow = { ...txt2imgWorkflow({ steps: 2 }), '13': { class_type: 'ShowText', inputs: { text: 'hi' } } }
  const queued = await http('/prompt', { method: 'POST', body: JSON.stringify({ prompt: workflow, client_id: clientId }) })
  assert.is(queued.status, 200)
  const promptId = queued.json().prompt_id
  await done
  ws.close()
  bystander.close()

  const events = mine.filter(m => m.type !== 'status').map(m =>
    m.type === 'executing' ? `executing:${m.data.node}` : m.type === 'executed' ? `executed:${m.data.node}` : m.type === 'progress' ? `progress:${m.data.value}/${m.data.max}` : m.type)
  assert.equal(events, [
    'execution_start', 'execution_cached',
    'executing:4', 'executing:6', 'executing:7', 'executing:5', 'executing:3', 'progress:1/2', 'progress:2/2',
    'executing:8', 'executing:9', 'executed:9', 'executing:13', 'executed:13',
    'execution_success', 'executing:null',
  ])
  assert.is(mine[0]!.type, 'status')
  assert.is(mine[0]!.data.sid, clientId)
  assert.ok(mine.filter(m => m.type !== 'status').every(m => m.data.prompt_id === promptId))
  assert.ok(others.every(t => t === 'status'), `a bystander saw only status: ${others.join(',')}`)
  const history = (await http(`/history/${promptId}`)).json()
  assert.equal(history[promptId].status.status_str, 'success')
  assert.equal(history[promptId].outputs['13'], { text: ['hi'] })
}))

S('validation answers 400 the way ComfyUI does', within(async () => {
  const bad = await http('/prompt', { method: 'POST', body: JSON.stringify({ prompt: txt2imgWorkflow({ ckpt: 'nope.safetensors' }) }) })
  assert.is(bad.status, 400)
  const body = bad.json()
  assert.is(body.error.type, 'prompt_outputs_failed_validation')
  assert.equal(body.node_errors['4'].class_type, 'CheckpointLoaderSimple')
  assert.equal(body.node_errors['4'].dependent_outputs, ['9'])
  assert.equal(body.node_errors['4'].errors[0].type, 'value_not_in_list')
  assert.equal(body.node_errors['4'].errors[0].extra_info.received_value, 'nope.safetensors')
  const missing = await http('/prompt', { method: 'POST', body: '{}' })
  assert.is(missing.status, 400)
  assert.is(missing.json().error.type, 'no_prompt')
}))

S.run()
