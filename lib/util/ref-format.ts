/**
 * Why `ref` is not a name `git check-ref-format --allow-onelevel` accepts, or is one git would read as something
 * else (an option, `@{-1}`, `HEAD@{…}`); undefined when it is a plain ref name. Checked before any fetch: such a
 * ref must never reach git's command line.
 */
export function refFormatProblem(ref: string): string | undefined {
  if (ref === '') return 'must not be empty'
  if (ref.startsWith('-')) return 'must not start with "-" (git would read it as an option)'
  if (ref === '@') return 'must not be "@"'
  if (ref.includes('@{')) return 'must not contain "@{" (a reflog or previous-branch expression, not a name)'
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return 'must not contain spaces, control characters or any of ~ ^ : ? * [ \\'
  if (ref.includes('..')) return 'must not contain ".."'
  if (ref.includes('//') || ref.startsWith('/') || ref.endsWith('/')) return 'must not start or end with "/" or contain "//"'
  if (ref.endsWith('.')) return 'must not end with "."'
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) return 'no part of it may start with "."'
    if (part.endsWith('.lock')) return 'no part of it may end with ".lock"'
  }
  return undefined
}
