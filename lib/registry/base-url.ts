/** The Comfy Registry's public API (reference/comfy-registry.md); reads need no credential. Apart from the client, so that resolving the config loads no HTTP code. */
export const DEFAULT_REGISTRY_URL = 'https://api.comfy.org'
