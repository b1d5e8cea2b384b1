/**
 * The command line: `npx tsx tasks <command> [args]`. This folder is the only place that touches
 * the process (argv, environment, signals, exit codes); everything under lib/ takes parameters.
 */
import { setMaxListeners } from 'node:events'
import { EXIT, COMMON_HELP, LOCATION_HELP, UsageError, parseCommandArgs, printJson, type Command, type Io } from './_cli.ts'
import { errorsDocument } from '../lib/report/run-document.ts'
import { closest } from '../lib/util/closest.ts'

const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  create: () => import('./create.ts'),
  validate: () => import('./validate.ts'),
  'add-node': () => import('./add-node.ts'),
  'add-model': () => import('./add-model.ts'),
  remove: () => import('./remove.ts'),
  update: () => import('./update.ts'),
  show: () => import('./show.ts'),
  realize: () => import('./realize.ts'),
  plan: () => import('./plan.ts'),
  verify: () => import('./verify.ts'),
  'run-ui': () => import('./run-ui.ts'),
  'run-handler': () => import('./run-handler.ts'),
  serve: () => import('./serve.ts'),
  clone: () => import('./clone.ts'),
  delete: () => import('./delete.ts'),
  list: () => import('./list.ts'),
  config: () => import('./config.ts'),
  gc: () => import('./gc.ts'),
}

const SUMMARIES: Record<string, string> = {
  create: 'write versions/<id>.json from flags, a node list or snapshot, and a model list',
  validate: 'check a spec and pin refs to commits and models to sha256',
  'add-node': 'add a custom node (URL[@REF] or cnr:ID[@VER]) to a spec',
  'add-model': 'add a model file (URL and a path under models/) to a spec',
  remove: 'remove a custom node or a model from a spec',
  update: 'move nodes that follow a branch to its newest commit',
  show: 'what a spec names beside what its home holds',
  realize: 'build the version: run every task that is not up to date',
  plan: 'show what realize would run, and why',
  verify: 'prove the home matches its spec (read-only); exit 1 on any drift',
  'run-ui': 'realize, then run ComfyUI in the foreground',
  'run-handler': 'run one RunPod-style job (workflow) headless and print its result',
  serve: 'a RunPod serverless worker: ComfyUI started once, jobs taken from RunPod (or a local test API)',
  clone: 'copy a spec under a new id',
  delete: 'remove a realized home (only one the tool created) and its lock',
  list: 'the versions, pinned or not, realized where',
  config: 'print the effective configuration and where each value came from',
  gc: 'remove cache objects no spec and no realized home uses; --dry-run lists them with their sizes',
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map(k => k.length))
  return `comfy-vc: reproducible ComfyUI versions

Usage: npx tsx tasks <command> [options]

Commands:
${Object.entries(SUMMARIES).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}

Run \`npx tsx tasks <command> --help\` for a command's options.
`
}

/** Signals this close to the first are the same interrupt delivered twice. */
const SAME_SIGNAL_MS = 500

async function main(argv: string[]): Promise<number> {
  const controller = new AbortController()
  // Every waiting task and child process listens on this one signal; dozens at once are expected, not a leak.
  setMaxListeners(0, controller.signal)
  let firstAt: number | undefined
  const onSignal = (sig: NodeJS.Signals) => {
    // The same Ctrl-C can arrive twice within milliseconds: from the terminal's process group and relayed by a
    // parent (tsx's CLI, npm). Only a later one is the user's "again, to force".
    if (firstAt !== undefined) {
      if (Date.now() - firstAt > SAME_SIGNAL_MS) process.exit(EXIT.interrupted)
      return
    }
    firstAt = Date.now()
    process.stderr.write(`\n${sig === 'SIGINT' ? 'Interrupted' : 'Terminated'}: stopping running tasks (again to force)...\n`)
    controller.abort(new Error(sig))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const io: Io = {
    out: t => { process.stdout.write(t) },
    err: t => { process.stderr.write(t.endsWith('\n') ? t : `${t}\n`) },
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    isTTY: !!process.stderr.isTTY,
    progressStream: process.stderr,
  }
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp())
    return name ? EXIT.ok : EXIT.usage
  }
  const load = COMMANDS[name]
  if (!load) {
    const near = closest(name, Object.keys(COMMANDS))
    const problem = name.startsWith('-') ? `a command comes first, before "${name}"` : `unknown command "${name}"${near ? `; did you mean "${near}"?` : ''}`
    io.err(`comfy-vc: ${problem}\n\n${mainHelp()}`)
    // --json promises one document on stdout, even when the command is not known.
    if (argv.includes('--json')) printJson(io, errorsDocument([problem]))
    return EXIT.usage
  }
  const cmd = (await load()).default
  try {
    const args = parseCommandArgs(cmd, rest)
    if (args.values.help) {
      io.out(`${cmd.help.trim()}\n${cmd.locations ? LOCATION_HELP : ''}\n${COMMON_HELP}\n`)
      return EXIT.ok
    }
    // A command reports its own interruption (130, with its --json document).
    return await cmd.run(args, io)
  } catch (e) {
    // --json promises one document on stdout, a failure included.
    const document = (message: string) => {
      if (cmd.errorDocument) printJson(io, cmd.errorDocument(message, []))
      else if (rest.slice(0, rest.indexOf('--') >>> 0).includes('--json')) printJson(io, errorsDocument([message]))
    }
    if (e instanceof UsageError) {
      io.err(`comfy-vc ${name}: ${e.message}\nRun \`npx tsx tasks ${name} --help\` for usage.`)
      document(e.message)
      return EXIT.usage
    }
    if (controller.signal.aborted) return EXIT.interrupted
    const fs = fileSystemProblem(e)
    if (fs) {
      io.err(`comfy-vc ${name}: ${fs.message}`)
      document(fs.message)
      return fs.code
    }
    io.err(`comfy-vc ${name}: internal error, please report it with this output:\n${(e as Error).stack ?? String(e)}`)
    document(`internal error: ${(e as Error).message ?? String(e)}`)
    return EXIT.failed
  }
}

const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'not permitted', ENOTDIR: 'it, or a folder above it, is a file',
  EISDIR: 'it is a folder', EEXIST: 'something else is already there', EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device', ELOOP: 'too many symbolic links', ENAMETOOLONG: 'the name is too long',
}

/**
 * A file or folder the command could not use (a cache, home or versions folder that is not writable, a file where
 * a folder should be): a message naming it, without a stack. Exit 2 when nothing could start (the locations are
 * wrong), 1 when the disk failed under a run (full, I/O error).
 */
function fileSystemProblem(e: unknown): { message: string; code: number } | undefined {
  const x = e as NodeJS.ErrnoException
  if (!x || typeof x.code !== 'string' || typeof x.path !== 'string' || !x.syscall) return undefined
  const words = ERRNO_WORDS[x.code] ?? x.code
  const hint = 'check that path and its permissions, or choose other locations (--versions-dir, --home, --cache-root, --models-dir, or their environment variables)'
  const usage = ['EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EROFS', 'ELOOP', 'ENAMETOOLONG'].includes(x.code)
  return { message: `cannot ${x.syscall} ${x.path}: ${words}; ${hint}`, code: usage ? EXIT.usage : EXIT.failed }
}

process.exitCode = await main(process.argv.slice(2))
// Nothing should outlive the command (a keep-alive socket, a stray timer); never hang on one.
setTimeout(() => process.exit(), 2_000).unref()
