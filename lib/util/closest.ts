/**
 * The known word nearest to `word` (edit distance, case aside), or undefined when none is near enough to be a
 * typo of it: at most a third of the word's length, and at least one edit. For "did you mean ...?".
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  let best: { word: string; d: number } | undefined
  for (const k of known) {
    const d = distance(w, k.toLowerCase())
    if (!best || d < best.d) best = { word: k, d }
  }
  // A prefix is what people type when they remember the start of a long name (--froz, show-).
  const prefixed = known.filter(k => w.length >= 3 && k.toLowerCase().startsWith(w))
  if (prefixed.length === 1) return prefixed[0]
  return best && best.d <= Math.max(1, Math.floor(w.length / 3)) ? best.word : undefined
}

// --- internal ---

/** Levenshtein distance, with a swap of two neighbours counted as one edit (the commonest typo). */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = d
    }
  }
  return rows[a.length]![b.length]!
}
