// Score normalisation shared by several plugins (upstream helper.DefaultNormalizeScore).

/**
 * Scales scores so the highest becomes `maxPriority` (integer division, as
 * upstream). `reverse` turns "more is worse" raw counts into scores. When all
 * scores are 0 they stay 0, or all become `maxPriority` when reversed.
 */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: Float64Array): void {
  let max = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
  if (max === 0) {
    if (reverse) scores.fill(maxPriority);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((maxPriority * scores[i]!) / max);
    scores[i] = reverse ? maxPriority - s : s;
  }
}
