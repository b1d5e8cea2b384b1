import { open } from 'node:fs/promises'

/**
 * A model URL that answers with a web page (a sign-in wall, a model's page, a Drive confirmation) must never be
 * pinned or stored as the model: it is recognised by its content type or, when the host says nothing useful, by
 * the first bytes of what it sent.
 */
export const isHtmlContentType = (type: string | undefined): boolean =>
  !!type && /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(type)

/** The start of an HTML document, after a BOM and whitespace. No model format begins like this. */
export const looksLikeHtml = (head: string): boolean =>
  /^(?:\uFEFF)?\s*<(?:!doctype\s+html|html|head|body)[\s>]/i.test(head)

/** Whether a downloaded file begins as an HTML page does. */
export async function fileLooksLikeHtml(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(512)
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
    return looksLikeHtml(buf.subarray(0, bytesRead).toString('latin1'))
  } finally { await fh.close() }
}

/** The message for a model URL that gave a page: what was got, and what to use instead. */
export const webPageMessage = (shownUrl: string, how: string): string =>
  `${shownUrl} answered with a web page (${how}), not a model file; nothing was pinned or stored. Use the file's direct download link: on Hugging Face .../resolve/<revision>/<file>, on GitHub the raw link, on Civitai https://civitai.com/api/download/models/<version id>; a host that needs a token answers with a sign-in page without it (HF_TOKEN, CIVITAI_TOKEN)`
