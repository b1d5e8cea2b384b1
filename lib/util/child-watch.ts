import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * The variable every child exec() starts carries, and its children inherit: `<tool pid>.<random>`. The watchdog
 * finds by it what a child started outside its process group (a daemon, a `setsid` helper).
 */
export const RUN_MARKER_VAR = 'COMFY_VC_RUN'

/**
 * The watchdog: one `sh` per tool process, started with the first child (a run that starts none, a no-op
 * realize, never pays for it). It reads a line per event on its stdin; when the stdin ends (the tool exited, or
 * was killed, SIGKILL included: the kernel closes the pipe) it kills, with SIGKILL,
 *   - every process group registered by exec() and not yet unregistered (a child and what it started),
 *   - every process carrying this run's marker, wherever its group,
 *   - every orphan of the tool left in the tool's own process group (git started by simple-git, not detached):
 *     a process of that group, started after the tool, whose parent is now the watchdog's own new parent (the
 *     reaper both were given to),
 * repeating until none is left; then it removes the locks the tool still held (when their owner file is still
 * the tool's), so that another host does not wait out the heartbeat. It is detached: killing the tool's
 * process group leaves it to do its work.
 * A "clean" line (the tool exited with no child running) skips the scans.
 */
const SCRIPT = String.raw`
run=$1; groups=' '; locks=''; clean=''
read -r l < /proc/$PPID/stat; set -- \${l##*) }; toolgroup=$3; toolstart=\${20}
while read -r line; do
  case $line in
    clean) clean=1 ;;
    L*) locks="$locks
\${line#L}" ;;
    -*) g=\${line#-}; case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
    *) groups="$groups$line " ;;
  esac
done
if [ -z "$clean" ]; then
  for g in $groups; do kill -KILL -- "-$g" 2>/dev/null; done
  # The pipe closes before the kernel gives the tool's children to their new parent: wait for it a little.
  i=0; reaper=$PPID
  while [ "$reaper" = "$PPID" ] && [ $i -lt 500 ]; do read -r l < /proc/$$/stat; set -- \${l##*) }; reaper=$2; i=$((i+1)); done
  i=0
  while [ $i -lt 20 ]; do
    found=''
    for d in /proc/[0-9]*; do
      p=\${d#/proc/}
      [ "$p" = "$$" ] && continue
      read -r l < "$d/stat" 2>/dev/null || continue
      set -- \${l##*) }
      [ "$1" != Z ] && [ "$3" = "$toolgroup" ] && { [ "$2" = "$reaper" ] || [ "$2" = "$PPID" ]; } && [ "$p" != "$toolgroup" ] && [ "\${20}" -ge "$toolstart" ] &&
        kill -KILL "$p" 2>/dev/null && found=1
    done
    for e in $(grep -lzxF "${RUN_MARKER_VAR}=$run" /proc/[0-9]*/environ 2>/dev/null); do
      e=\${e#/proc/}; p=\${e%/environ}
      read -r l < "/proc/$p/stat" 2>/dev/null || continue
      set -- \${l##*) }
      [ "$1" != Z ] && kill -KILL "$p" 2>/dev/null && found=1
    done
    [ -z "$found" ] && break
    i=$((i+1))
  done
fi
pid=\${run%%.*}
printf '%s\n' "$locks" | while IFS=' ' read -r since path; do
  [ -n "$path" ] && grep -qF "\"pid\":$pid," "$path/owner.json" 2>/dev/null && grep -qF "\"since\":$since}" "$path/owner.json" && rm -rf -- "$path"
done
`.replace(/\\\$/g, '$')

interface Watch { child: ChildProcess; marker: string; live: Set<number> }
let watch: Watch | undefined
const locks = new Map<string, number>()

/** The marker this process's children carry; starts the watchdog the first time. */
export function runMarker(): string {
  return ensureWatch().marker
}

/** A child's process group (its pid: exec() makes every child a group leader), killed if the tool dies first. */
export function watchGroup(pgid: number): void {
  const w = ensureWatch()
  w.live.add(pgid)
  send(`${pgid}`)
}

/** The child's group ended: its pid may be reused, so it must never be killed now. */
export function unwatchGroup(pgid: number): void {
  if (!watch?.live.delete(pgid)) return
  send(`-${pgid}`)
}

/**
 * A lock this process took (its folder and the `since` of its owner file): removed by the watchdog if the tool
 * dies holding it. Told only to a running watchdog (see {@link runMarker}); one started later hears of it then.
 */
export function watchLock(path: string, since: number): void {
  locks.set(path, since)
  if (watch) send(`L${since} ${path}`)
}

export function unwatchLock(path: string): void {
  locks.delete(path)
}

/** The watchdog's pid while one runs: a lock's owner is alive while it is (its children may still be ending). */
export function watchdogPid(): number | undefined {
  return watch?.child.pid
}

/** Whether the watchdog of tool process `pid` (on this host) is still running, ending that process's children. */
export function watchdogRunning(pid: number): boolean {
  const needle = `\0comfy-vc-watchdog\0${pid}.`
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try { if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(needle)) return true } catch { /* gone meanwhile */ }
  }
  return false
}

function ensureWatch(): Watch {
  if (watch) return watch
  const marker = `${process.pid}.${randomBytes(6).toString('hex')}`
  const child = spawn('/bin/sh', ['-c', SCRIPT, 'comfy-vc-watchdog', marker], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
  child.on('error', () => {})
  child.stdin!.on('error', () => {})
  // Neither the watchdog nor its pipe keeps the tool alive.
  child.unref()
  ;(child.stdin as unknown as { unref?: () => void }).unref?.()
  watch = { child, marker, live: new Set() }
  for (const [path, since] of locks) send(`L${since} ${path}`)
  process.once('exit', () => { if (watch && watch.live.size === 0) send('clean') })
  return watch
}

function send(line: string): void {
  watch?.child.stdin?.write(`${line}\n`)
}
