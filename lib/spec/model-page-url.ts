/**
 * Model URLs people paste are often the web page about the file, not the file: a download of one stores an HTML page
 * as a model. Known page shapes are rewritten when the file's URL can be derived from the page's, and refused with
 * the URL to use when it cannot.
 */
export type PageUrlVerdict =
  | { kind: 'file'; url: string }
  | { kind: 'rewritten'; url: string; was: string }
  | { kind: 'page'; why: string }

const HF_HOSTS = new Set(['huggingface.co', 'hf.co', 'www.huggingface.co'])
const ACTIONS = new Set(['resolve', 'blob', 'tree'])

/** What a model URL is: a file URL (kept, or rewritten from its page's URL) or a page that names no file. */
export function modelPageVerdict(url: string): PageUrlVerdict {
  let u: URL
  try { u = new URL(url) } catch { return { kind: 'file', url } }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { kind: 'file', url }
  const host = u.hostname.toLowerCase()
  const parts = u.pathname.split('/').filter(Boolean)
  const rewritten = (to: string): PageUrlVerdict => ({ kind: 'rewritten', url: to, was: url })

  if (HF_HOSTS.has(host)) {
    // Models live at /<owner>/<repo>/... (a few old ones at /<repo>/...), datasets and spaces one level deeper.
    const deeper = parts[0] === 'datasets' || parts[0] === 'spaces' ? 1 : 0
    const lead = ACTIONS.has(parts[1 + deeper] ?? '') ? 1 + deeper : 2 + deeper
    const action = parts[lead]
    const repo = parts.slice(0, lead).join('/')
    if (action === 'resolve' && parts.length > lead + 2) return host === 'huggingface.co' ? { kind: 'file', url } : rewritten(`https://huggingface.co/${parts.join('/')}${u.search}`)
    if (action === 'blob' && parts.length > lead + 2) return rewritten(`https://huggingface.co/${repo}/resolve/${parts.slice(lead + 1).join('/')}${u.search}`)
    const where = action === 'tree' ? 'a Hugging Face folder page' : 'a Hugging Face repository page'
    return { kind: 'page', why: `${where}, not a file; use the link of one file in it: https://huggingface.co/${repo || '<owner>/<repo>'}/resolve/<revision>/<path of the file>` }
  }
  if (host === 'github.com' || host === 'www.github.com') {
    if (parts[2] === 'blob' && parts.length > 4) return rewritten(`https://raw.githubusercontent.com/${parts[0]}/${parts[1]}/${parts.slice(3).join('/')}`)
    // Only the shapes that are certainly pages: a repository's front page, a folder, a file's page without a path.
    const page = parts.length === 2 || parts[2] === 'tree' || parts[2] === 'blob'
    if (page) return { kind: 'page', why: `a GitHub page, not a file; use the file's raw link (https://raw.githubusercontent.com/<owner>/<repo>/<ref>/<path>) or a release asset's download link` }
    return { kind: 'file', url }
  }
  if (host === 'civitai.com' || host === 'www.civitai.com') {
    if (parts[0] === 'api') return { kind: 'file', url }
    if (parts[0] === 'models') {
      const version = u.searchParams.get('modelVersionId')
      if (version && /^\d+$/.test(version)) return rewritten(`https://civitai.com/api/download/models/${version}`)
      return { kind: 'page', why: 'a Civitai model page, not a file; use the download link of one version: https://civitai.com/api/download/models/<version id> (the page\'s "Download" button, or ?modelVersionId= in the page URL)' }
    }
  }
  if (host === 'drive.google.com' || host === 'docs.google.com') {
    return { kind: 'page', why: 'a Google Drive link, which answers large files with an HTML confirmation page; put the file on a host that serves it directly (Hugging Face, S3, a web server) or use a file:// path' }
  }
  return { kind: 'file', url }
}
