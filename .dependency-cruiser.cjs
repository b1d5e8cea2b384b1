/**
 * Which module may import which: `npm run deps` (run by `npm test` after the typecheck).
 *
 * The layers, top to bottom; a module imports only from its own layer or a lower one, never from a higher one:
 *
 *   tasks/                      the command line (argv, env, exit codes); imports anything below
 *   lib/report, lib/watch       used by tasks/ only
 *   lib/pipeline   lib/config   the stages of a command; config sits beside pipeline, below tasks
 *   lib/engine                  executor, markers, homes
 *   lib/graph                   the DAG and its task kinds
 *   lib/{git,fetch,models,python,comfy,spec,registry,runpod}   adapters; they import each other only along the edges listed below
 *   lib/util, lib/layout, lib/result.ts         the bottom: small helpers with no project knowledge
 *
 * Type-only imports count (`import type`, `import { type X }`, and `import('./x.ts').X` in a type): with
 * tsPreCompilationDeps they are read from the TypeScript source before they are erased. They cannot break module
 * initialization, but a type cycle is still a cycle for a reader, and it ties two modules together just the same
 * when one of them moves. Dynamic `await import('./x.ts')` calls are real edges too (dependency type
 * `dynamic-import`): lazy loading changes when a module loads, not which modules depend on which.
 *
 * Only lib/ and tasks/ are cruised (see the `deps` script): test/, scripts/, bench/ and cache.config.ts are entry
 * points that may import what they need.
 */

const UTIL = '^lib/(util|layout)/|^lib/result\\.ts$'
const ADAPTERS = '^lib/(git|fetch|models|python|comfy|spec|registry|runpod)/'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other (type-only imports included) cannot be read, tested or moved one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import the checker cannot resolve is an edge it cannot see; every other rule would pass vacuously.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },

    // --- the layer order: tasks → pipeline → engine → graph → adapters → util ---
    {
      name: 'lib-never-imports-tasks',
      comment: 'tasks/ is the top: only it touches the process, and lib/ gets everything as parameters.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^tasks/' },
    },
    {
      name: 'pipeline-not-upward',
      comment: 'The pipeline is used by tasks/ (and watch/report through them); it never reaches back up.',
      severity: 'error',
      from: { path: '^lib/pipeline/' },
      to: { path: '^lib/(report|watch)/' },
    },
    {
      name: 'engine-not-upward',
      comment: 'The engine runs a compiled graph; the stages that build and feed it sit above it.',
      severity: 'error',
      from: { path: '^lib/engine/' },
      to: { path: '^lib/(pipeline|report|watch)/' },
    },
    {
      name: 'graph-not-upward',
      comment: 'Task kinds are run by the engine, not the other way round: what a kind needs from a home comes from a lower layer (lib/layout) or as a parameter.',
      severity: 'error',
      from: { path: '^lib/graph/' },
      to: { path: '^lib/(engine|pipeline|report|watch)/' },
    },
    {
      name: 'adapters-not-upward',
      comment: 'Adapters wrap one outside tool or format each; they know nothing of the graph, the engine or the pipeline.',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: '^lib/(graph|engine|pipeline|report|watch)/' },
    },
    {
      name: 'util-is-the-bottom',
      comment: 'lib/util, lib/layout and lib/result.ts are importable by everything in lib/, so they import nothing else of the project.',
      severity: 'error',
      from: { path: UTIL },
      to: { path: '^lib/', pathNot: UTIL },
    },

    // --- adapter to adapter: only the edges that exist today ---
    {
      name: 'lone-adapters',
      comment: 'git, fetch, comfy, spec and runpod import no other adapter (runpod speaks RunPod\'s job API and knows nothing of ComfyUI: tasks/serve.ts joins the two).',
      severity: 'error',
      from: { path: '^lib/(git|fetch|comfy|spec|runpod)/' },
      to: { path: ADAPTERS, pathNot: '^lib/$1/' },
    },
    {
      name: 'models-adapter-edges',
      comment: 'models may use fetch (it downloads blobs) and spec (safe model paths), nothing else.',
      severity: 'error',
      from: { path: '^lib/models/' },
      to: { path: '^lib/(git|python|comfy|registry)/' },
    },
    {
      name: 'python-adapter-edges',
      comment: 'python may use spec (the python.* section types), nothing else.',
      severity: 'error',
      from: { path: '^lib/python/' },
      to: { path: '^lib/(git|fetch|models|comfy|registry)/' },
    },
    {
      name: 'registry-adapter-edges',
      comment: 'registry may use fetch (its API is HTTP), nothing else: archives reach the store through the graph kind.',
      severity: 'error',
      from: { path: '^lib/registry/' },
      to: { path: '^lib/(git|models|python|comfy|spec)/' },
    },

    // --- modules beside the chain: who may import them ---
    {
      name: 'config-not-upward',
      comment: 'config may import graph (the plugin type), adapters and util; it never needs the engine or the pipeline.',
      severity: 'error',
      from: { path: '^lib/config/' },
      to: { path: '^lib/(engine|pipeline|report|watch)/' },
    },
    {
      name: 'config-only-for-pipeline-and-tasks',
      comment: 'The resolved config is taken apart in the pipeline and tasks/; lower layers get the values they need as parameters, so they never import it.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/(config|pipeline)/' },
      to: { path: '^lib/config/' },
    },
    {
      name: 'report-only-for-tasks',
      comment: 'lib/report builds the --json documents that tasks/ prints; nothing below renders output.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/report/' },
      to: { path: '^lib/report/' },
    },
    {
      name: 'watch-only-for-tasks',
      comment: 'The watch loop is driven by tasks/ (realize --watch, run-ui --watch).',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/watch/' },
      to: { path: '^lib/watch/' },
    },

    // --- internals ---
    {
      name: 'graph-kinds-behind-registry',
      comment: 'Outside lib/graph, task kinds are reached through lib/graph/kinds/index.ts (the built-in plugins), never one kind file: what tasks/ needs from a kind belongs in a lower module.',
      severity: 'error',
      from: { pathNot: '^lib/graph/' },
      to: { path: '^lib/graph/kinds/', pathNot: '^lib/graph/kinds/index\\.ts$' },
    },
    {
      name: 'underscore-files-are-private',
      comment: 'A file whose name starts with _ is an internal of its folder (reference/style.md).',
      severity: 'error',
      from: { path: '^(.+)/[^/]+$' },
      to: { path: '/_[^/]+$', pathNot: '^$1/_[^/]+$' },
    },
  ],
  options: {
    // Type-only imports are edges (see the top of this file).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6'],
    enhancedResolveOptions: {
      // Imports name their `.ts` file; the list is for packages and bare specifiers.
      extensions: ['.ts', '.js', '.json'],
      conditionNames: ['import', 'node', 'default'],
      exportsFields: ['exports'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
}
