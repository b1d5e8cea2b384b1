import type { TaskPlugin } from '../plugin.ts'
import { cloneCore } from './clone-core.ts'
import { cloneNode } from './clone-node.ts'
import { fetchModel } from './fetch-model.ts'
import { link } from './link.ts'
import { venv, collectDeps, uvCompile, uvInstall, installScript } from './python.ts'

/** The built-in task kinds, in the order their tasks are compiled (dependencies first). */
export const BUILTIN_PLUGINS: readonly TaskPlugin[] = [cloneCore, cloneNode, fetchModel, link, venv, collectDeps, uvCompile, uvInstall, installScript]
