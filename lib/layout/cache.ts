import { join, resolve } from 'node:path'
import { sha256 } from '../util/hash.ts'

/**
 * Every path under COMFY_CACHE_ROOT, named in this one place. Keys (a mirror's, a compiled lock's) are made by
 * the adapter that owns the object; this module only says where each kind of object lives:
 *
 *   git/<key>.git            bare mirrors shared by every version (lib/git)
 *   locks/git-<key>.lock     held while a mirror is created or fetched into
 *   locks/home-<hash>.lock   held by a realize of one home
 *   resolved/<id>.lock.json  what `validate` resolved every ref and model to
 *   specs/<hash>.json        validated specs, so a no-op realize does not load the schema
 *   compiled/<hash>.txt      pinned requirements, by the hash of everything that decides them
 *   homes/<hash>.json        a home realized from this cache (lib/engine/home-registry.ts), for gc
 *   locks/gc.lock            held by gc while it decides and removes
 *   envs/<key>/              Python environments shared by every home whose lock, interpreter and settings give that key
 *   locks/env-<key>.lock     held while a shared environment is made or installed into
 *   uv/                      uv's own cache
 *   tmp/                     work folders of compile and per-node installs
 *
 * The model store (MODELS_DIR, by default `<cache>/models`) has a layout of its own: lib/models/store.ts.
 */
export function cacheLayout(cacheRoot: string) {
  return {
    root: cacheRoot,
    mirror: (key: string): string => join(cacheRoot, 'git', `${key}.git`),
    mirrorLock: (key: string): string => join(cacheRoot, 'locks', `git-${key}.lock`),
    /** By the home's absolute path: in the cache, not the home, since a home the tool has not claimed yet stays as the user left it. */
    homeLock: (home: string): string => join(cacheRoot, 'locks', `home-${sha256(resolve(home)).slice(0, 16)}.lock`),
    resolvedLock: (id: string): string => join(cacheRoot, 'resolved', `${id}.lock.json`),
    specs: join(cacheRoot, 'specs'),
    compiledLock: (inputsHash: string): string => join(cacheRoot, 'compiled', `${inputsHash}.txt`),
    mirrors: join(cacheRoot, 'git'),
    compiled: join(cacheRoot, 'compiled'),
    /** By the home's absolute path, as homeLock. */
    homeRecord: (home: string): string => join(cacheRoot, 'homes', `${sha256(resolve(home)).slice(0, 16)}.json`),
    homes: join(cacheRoot, 'homes'),
    gcLock: join(cacheRoot, 'locks', 'gc.lock'),
    /** One folder per shared environment (lib/python/shared-env.ts); a gc enumerates them and reads each one's key file. */
    envs: join(cacheRoot, 'envs'),
    sharedEnv: (key: string): string => join(cacheRoot, 'envs', key),
    envLock: (key: string): string => join(cacheRoot, 'locks', `env-${key}.lock`),
    uv: join(cacheRoot, 'uv'),
    tmp: join(cacheRoot, 'tmp'),
  }
}
