import { normalizeName } from './pep440.ts'

/** A distribution of a family, with what sets it apart from the others. */
interface Member { name: string; contrib?: boolean; headless?: boolean; gpu?: boolean }

/**
 * Distributions that install the same import name: installed side by side, the last one to unpack wins the module's
 * files, and uninstalling one breaks the other. Extend here (docs/tech.md, "One module per import name").
 */
export const MODULE_FAMILIES: readonly { module: string; members: readonly Member[] }[] = [
  {
    module: 'cv2',
    members: [
      { name: 'opencv-python' }, { name: 'opencv-contrib-python', contrib: true },
      { name: 'opencv-python-headless', headless: true }, { name: 'opencv-contrib-python-headless', contrib: true, headless: true },
    ],
  },
  { module: 'onnxruntime', members: [{ name: 'onnxruntime' }, { name: 'onnxruntime-gpu', gpu: true }] },
]

/** The family a (normalized) distribution name belongs to. */
export function familyOf(name: string): (typeof MODULE_FAMILIES)[number] | undefined {
  const n = normalizeName(name)
  return MODULE_FAMILIES.find(f => f.members.some(m => m.name === n))
}

/**
 * The one member a family is reduced to. A member named in python.requirements wins (the override); otherwise
 * contrib over plain, GPU over CPU, and headless only when every asker is headless (a GUI build serves a headless
 * user, not the other way round). Returns the name and the rule that decided it, for the report.
 */
export function chooseMember(family: (typeof MODULE_FAMILIES)[number], asked: readonly string[], specPinned: readonly string[]): { name: string; rule: string } {
  const pinned = family.members.find(m => specPinned.includes(m.name))
  if (pinned) return { name: pinned.name, rule: 'named in python.requirements' }
  const members = asked.map(a => family.members.find(m => m.name === a)!).filter(Boolean)
  const want = { contrib: members.some(m => m.contrib), headless: members.every(m => m.headless), gpu: members.some(m => m.gpu) }
  const chosen = family.members.find(m => !!m.contrib === want.contrib && !!m.headless === want.headless && !!m.gpu === want.gpu) ?? members[0]!
  const rules = [want.contrib && 'contrib over plain', want.gpu && 'GPU over CPU', want.headless ? 'every asker is headless' : members.some(m => m.headless) && 'headless only when every asker is headless']
  return { name: chosen.name, rule: rules.filter(Boolean).join(', ') || 'the only one asked' }
}
