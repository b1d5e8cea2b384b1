/**
 * A base Python of the test's own, as an image's system Python is (CUDA torch in its site-packages): the machine's
 * python3.X binary copied into `<dir>/bin` (a copy, not a link, so that Python takes `<dir>` as its prefix), its
 * standard library linked in, and a site-packages folder of its own, empty, that the test installs into.
 *
 *   const base = makeBasePython(join(tmp, 'base'), '3.11')   // { bin, python, sitePackages }
 */
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { discoverInterpreter } from '../../lib/python/interpreter.ts'

export interface BasePython { bin: string; python: string; sitePackages: string }

export function makeBasePython(dir: string, version: string): BasePython {
  const found = discoverInterpreter(version, process.env.PATH ?? '')
  if (!found.ok) throw new Error(found.error)
  const prefix = dirname(dirname(found.value.realpath))
  const bin = join(dir, 'bin'), lib = join(dir, 'lib', `python${version}`)
  mkdirSync(bin, { recursive: true })
  mkdirSync(join(lib, 'site-packages'), { recursive: true })
  const python = join(bin, `python${version}`)
  copyFileSync(found.value.realpath, python)
  const stdlib = join(prefix, 'lib', `python${version}`)
  for (const e of readdirSync(stdlib)) if (e !== 'site-packages') symlinkSync(join(stdlib, e), join(lib, e))
  return { bin, python, sitePackages: join(lib, 'site-packages') }
}
