import { basename } from 'node:path'

/** One custom node folder that ComfyUI did not load, with the first lines of why. */
export interface ImportFailure { folder: string; lines: string[] }

export interface ImportLog {
  /** Folders under custom_nodes/ the summary lists as imported. */
  imported: string[]
  failed: ImportFailure[]
}

/** How many traceback lines before the error a failure keeps: the frame that raised and the exception. */
const TRACEBACK_LINES = 3

/**
 * Reads ComfyUI's log of a start (reference/comfyui-cli-facts.md §2): the "Import times for custom nodes" summary
 * says which folders imported and which are `(IMPORT FAILED)`; each failure's lines are the end of the traceback
 * logged before its `Cannot import <path> module for custom nodes: <error>` line (the frame that raised and the
 * exception), or what its `Skip <path> module ... NODE_CLASS_MAPPINGS` line says.
 */
export function parseImportLog(text: string): ImportLog {
  const lines = text.split(/\r?\n/)
  const imported: string[] = []
  const failedFolders: string[] = []
  const why = new Map<string, string[]>()
  let traceback: string[] | undefined
  for (const line of lines) {
    if (line.startsWith('Traceback (most recent call last):')) { traceback = []; continue }
    const cannot = /^Cannot import (.+) module for custom nodes: (.*)$/.exec(line)
    if (cannot) {
      const tail = (traceback ?? []).filter(l => l.trim()).slice(-TRACEBACK_LINES).map(l => l.trim())
      why.set(basename(cannot[1]!), tail.length ? tail : [cannot[2]!])
      traceback = undefined
      continue
    }
    const skip = /^Skip (.+) module for custom nodes due to the lack of NODE_CLASS_MAPPINGS/.exec(line)
    if (skip) { why.set(basename(skip[1]!), ['it defines no NODE_CLASS_MAPPINGS']); continue }
    const summary = /^\s*\d+(?:\.\d+)? seconds( \(IMPORT FAILED\))?: (.+)$/.exec(line)
    if (summary) { (summary[1] ? failedFolders : imported).push(basename(summary[2]!.trim())); continue }
    traceback?.push(line)
  }
  return { imported, failed: failedFolders.map(folder => ({ folder, lines: why.get(folder) ?? ['ComfyUI reported it as IMPORT FAILED'] })) }
}
