/** The closest of `known` to `word` within two edits (a typo, not another word), for "did you mean". */
export function closest(word: string, known: Iterable<string>): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = editDistance(word.toLowerCase(), name.toLowerCase());
    if (d <= 2 && d < Math.min(word.length, name.length) / 2 && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** Levenshtein distance, one row at a time: `up` is row[j], `diag` row[j - 1], `left` next[j - 1]. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  let distance = b.length;
  for (let i = 0; i < a.length; i++) {
    let diag = i;
    let left = i + 1;
    const next = [left];
    for (const [j, up] of row.slice(1).entries()) {
      left = Math.min(up + 1, left + 1, diag + (a[i] === b[j] ? 0 : 1));
      diag = up;
      next.push(left);
    }
    row = next;
    distance = left;
  }
  return distance;
}
