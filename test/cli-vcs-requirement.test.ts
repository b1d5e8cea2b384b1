/**
 * A node pack whose requirements hold a `git+https://` line (issue 18): pip clones it (git's own `insteadOf` in the
 * user's git config points github.com at a local repository, as a company mirror would), builds it and installs it;
 * `validate --check` names an unpinned one, read from the node's pinned commit in the mirror.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeWorld, type World } from './helpers/cli.ts'
import { git, makeRepo, type TestRepo } from './helpers/git-repos.ts'
import { guarded } from './helpers/hooks.ts'

interface Ctx { w: World; lib: TestRepo; core: TestRepo; pinned: TestRepo; unpinned: TestRepo }
const V = suite<Ctx>('cli: git+https:// requirement lines')

/**
 * A PEP 517 backend inside the repository itself (no build requirements), so pip builds the package with no
 * index at all: what a real pack's setuptools build does, minus the download of setuptools.
 */
const BACKEND = `import base64, hashlib, os, zipfile
NAME, VERSION = "demo_vcs", "0.3"
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = f"{NAME}-{VERSION}.dist-info"
    files = {
        f"{NAME}/__init__.py": open(os.path.join(NAME, "__init__.py"), "rb").read(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: demo-vcs\\nVersion: {VERSION}\\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")
    return name
`

const URL_BASE = 'https://github.com/demo-org/'

function spec(ctx: Ctx, id: string, node: TestRepo) {
  return {
    schema_version: 2, id,
    comfyui: { repo: ctx.core.url, ref: 'master', commit: ctx.core.commits[0] },
    custom_nodes: [{ name: 'VcsNode', repo: node.url, ref: 'main', commit: node.commits[0] }],
  }
}

function sitePackages(home: string): string[] {
  const lib = join(home, '.venv', 'lib')
  const py = readdirSync(lib).find(d => /^python3\.\d+$/.test(d))!
  return readdirSync(join(lib, py, 'site-packages'))
}

V.before(guarded(async ctx => {
  ctx.w = await makeWorld()
  const repos = join(ctx.w.dir, 'repos')
  ctx.lib = await makeRepo(repos, 'demo-vcs', [{
    'pyproject.toml': '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
    'backend.py': BACKEND,
    'demo_vcs/__init__.py': 'VALUE = "from git"\n',
  }])
  ctx.core = await makeRepo(repos, 'ComfyUI', [{ 'main.py': 'print("core")\n', 'requirements.txt': '' }], { branch: 'master' })
  ctx.pinned = await makeRepo(repos, 'PinnedNode', [{ '__init__.py': '', 'requirements.txt': `demo-vcs @ git+${URL_BASE}demo-vcs.git@${ctx.lib.commits[0]}\n` }])
  ctx.unpinned = await makeRepo(repos, 'UnpinnedNode', [{ '__init__.py': '', 'requirements.txt': `git+${URL_BASE}demo-vcs.git#egg=demo-vcs\n` }])
  // Served as GitHub serves: with partial clone filters, so the mirror holds trees and no file until one is read.
  for (const r of [ctx.pinned, ctx.unpinned]) git(r.dir, ['config', 'uploadpack.allowFilter', 'true'])
  // The user's git config, as git (run by pip) reads it: github.com/demo-org is served from the local folder.
  mkdirSync(join(ctx.w.dir, 'user'), { recursive: true })
  writeFileSync(join(ctx.w.dir, 'user', '.gitconfig'), `[url "${ctx.lib.dir}"]\n\tinsteadOf = ${URL_BASE}demo-vcs.git\n`)
}))
V.after(guarded(async ctx => { await ctx.w.cleanup() }))

V('a pinned git+https:// line installs the package at that commit; validate --check passes', async ctx => {
  const { w } = ctx
  await w.writeSpec('vcs', spec(ctx, 'vcs', ctx.pinned))
  const check = await w.cli(['validate', 'vcs', '--check'])
  assert.is(check.code, 0, check.stderr)
  const r = await w.cli(['realize', 'vcs', '--json'])
  assert.is(r.code, 0, r.stderr)
  const site = sitePackages(w.home('vcs'))
  assert.ok(site.includes('demo_vcs'), site.join(' '))
  assert.ok(site.includes('demo_vcs-0.3.dist-info'), site.join(' '))
})

V('an unpinned git+https:// line: validate --check exits 1 naming the node, its file and the line', async ctx => {
  const { w } = ctx
  await w.writeSpec('loose', spec(ctx, 'loose', ctx.unpinned))
  const check = await w.cli(['validate', 'loose', '--check'])
  assert.is(check.code, 1, check.stderr)
  assert.match(check.stderr, /VcsNode/)
  assert.match(check.stderr, /requirements\.txt/)
  assert.match(check.stderr, /demo-vcs\.git/)
  assert.match(check.stderr, /@<40-hex commit>/)
})

V('an unpinned git+https:// line in the spec\'s own python.requirements: validate --check names its JSON path', async ctx => {
  const { w } = ctx
  await w.writeSpec('own', { ...spec(ctx, 'own', ctx.pinned), python: { requirements: [`git+${URL_BASE}demo-vcs.git`] } })
  const check = await w.cli(['validate', 'own', '--check'])
  assert.is(check.code, 1, check.stderr)
  assert.match(check.stderr, /versions\/own\.json: python\.requirements\[0\]: "git\+https:\/\/github\.com\/demo-org\/demo-vcs\.git" is a git\+https:\/\/ requirement with no commit/, check.stderr)
})

V.run()
