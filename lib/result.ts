/** Expected failures travel as values; `throw` is kept for bugs. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E }

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value })
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error })

/** Marks a switch as exhaustive: the compiler fails here when a case is missing. */
export function unreachable(value: never): never {
  throw new Error(`internal error: unexpected value ${JSON.stringify(value)}`)
}
