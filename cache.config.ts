/**
 * comfy-vc configuration. Every field is optional; a flag wins over the environment, which wins
 * over this file, which wins over the built-in default (`npx tsx tasks config` shows the result).
 * Relative paths here are relative to this file.
 */
import { defineConfig } from './lib/config/define-config.ts'

export default defineConfig({
  // versions_dir: './versions',          // COMFY_VERSIONS_DIR, --versions-dir
  // home: '~/comfy-{id}',                // COMFY_HOME, --home; {id} is the version id
  // cache_root: '~/.cache/comfy-vc',     // COMFY_CACHE_ROOT, --cache-root
  // models_dir: '~/.cache/comfy-vc/models', // MODELS_DIR, --models-dir
  // offline: false,                      // COMFY_OFFLINE=1, --offline
  // registry_url: 'https://api.comfy.org',   // COMFY_REGISTRY_URL: the Comfy Registry API, for registry nodes
  // concurrency: { git: 4, network: 4, cpu: 2 },   // --jobs N caps them all
  // installer: 'auto',                   // COMFY_INSTALLER=uv|pip|auto
  // link_mode: 'symlink',                // 'hardlink' or 'copy' where symlinks are not possible
  // timeouts: { compile_s: 300, install_s: 1800, download_headers_s: 30, download_body_s: 60 },
  // How long pip and uv wait for a package index, and how often they retry (a dead index fails in seconds):
  // index: { timeout_s: 10, retries: 1 },
  // Credentials are sent only to their own hosts (and subdomains), never across a redirect elsewhere:
  // auth: [
  //   { host: 'huggingface.co', env: 'HF_TOKEN' },
  //   { host: 'civitai.com', env: 'CIVITAI_TOKEN' },
  // ],
  // Extra task kinds (see docs/tech.md, "Plugins"):
  // plugins: [],
})
