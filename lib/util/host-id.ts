import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'

let id: string | undefined

/**
 * Eight hex digits naming this host and boot (hostname and the kernel's boot id): a pid means something only
 * together with it. Pods sharing a volume reuse the same pids, and so does one host after a reboot.
 */
export function hostId(): string {
  if (id) return id
  let boot = ''
  try { boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() } catch { /* not Linux: the hostname alone */ }
  id = createHash('sha256').update(`${hostname()}\n${boot}`).digest('hex').slice(0, 8)
  return id
}
