import type { AnyTaskPlugin } from '../plugin.ts'
import { cloneCore } from './clone-core.ts'
import { cloneNode } from './clone-node.ts'
import { unpackNode } from './unpack-node.ts'
import { fetchModel } from './fetch-model.ts'
import { link } from './link.ts'
import { venv } from './venv.ts'
import { collectDeps } from './collect-deps.ts'
import { uvCompile } from './uv-compile.ts'
import { uvInstall } from './uv-install.ts'
import { installScript } from './install-script.ts'

/** The built-in task kinds, in the order their tasks are compiled (dependencies first). */
export const BUILTIN_PLUGINS: readonly AnyTaskPlugin[] = [cloneCore, cloneNode, unpackNode, fetchModel, link, venv, collectDeps, uvCompile, uvInstall, installScript]
