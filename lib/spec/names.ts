/** Spec helpers without zod: the no-op path (graph kinds, markers) uses them without loading the schema. */

/** Problems with a relative path that must stay inside its folder, or undefined when it is safe. */
export function unsafePathReason(p: string): string | undefined {
  if (p.includes('\0')) return 'must not contain a NUL character'
  if (p.includes('\\')) return 'must not contain a backslash (use "/")'
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'must be relative, not absolute'
  const parts = p.split('/')
  if (parts.includes('..')) return 'must not contain ".." (it would leave its folder)'
  if (parts.some(s => s === '' || s === '.')) return 'must not contain empty or "." segments'
  return undefined
}

/** The folder name a node is realized under: its `name`, else the registry id, else the last URL segment without `.git`. */
export function nodeName(node: { name?: string | undefined; repo?: string; registry?: string }): string {
  if (node.name) return node.name
  if (node.registry !== undefined) return node.registry
  const last = (node.repo ?? '').replace(/[/\\]+$/, '').split(/[/:]/).pop() ?? ''
  return last.replace(/\.git$/, '')
}

/** Whether a custom node comes from the Comfy Registry (`registry`) rather than git (`repo`). */
export const isRegistryNode = <N extends object>(node: N): node is Extract<N, { registry: string }> =>
  typeof (node as { registry?: unknown }).registry === 'string'

/**
 * Why a node name is not one a user can read and type back, or undefined: it must be valid UTF-8, printable (no
 * control, format, zero-width or bidirectional-override characters), without leading or trailing white space,
 * and in NFC form (two spellings of "é" would make two folders that look the same).
 */
export function nameTextProblem(name: string): string | undefined {
  if (name.includes('\uFFFD')) return 'is not valid UTF-8 (it holds U+FFFD, the replacement character)'
  // eslint-disable-next-line no-control-regex
  const hidden = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0\u034F\u180B-\u180D\uFE00-\uFE0F]/u.exec(name)
  if (hidden) return `holds an invisible or control character (U+${hidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}); use printable characters only`
  if (name !== name.trim()) return 'must not start or end with white space'
  if (/\s/u.test(name.replace(/ /g, ''))) return 'must not hold white space other than plain spaces'
  if (name !== name.normalize('NFC')) return 'is not in Unicode NFC form (write the accented letters precomposed)'
  return undefined
}

/** Letters of other scripts drawn like Latin ones: "NodeА" (Cyrillic А) looks like "NodeA". */
const LOOK_ALIKE: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w',
  α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ɡ: 'g', ı: 'i', ℓ: 'l',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', І: 'I', Ј: 'J', Ѕ: 'S',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
}

/**
 * What a name looks like: compatibility forms folded (ｆｕｌｌ width, ligatures) and look-alike letters. Case is
 * kept: "KJNodes" and "kjnodes" are told apart by eye (and are two folders on Linux).
 */
export function nameSkeleton(name: string): string {
  return [...name.normalize('NFKC')].map(c => LOOK_ALIKE[c] ?? c).join('')
}
