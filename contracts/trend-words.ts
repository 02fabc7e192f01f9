/** Words for trends (S47), the same on the overview page and in the weekly review. */

/** A week against the one before, in words: "+50 %", "−20 %", "new this week", "same". */
export function weekChange(thisWeek: number, lastWeek: number): string {
  if (lastWeek === 0) return thisWeek === 0 ? 'same' : 'new this week';
  const percent = Math.round(((thisWeek - lastWeek) / lastWeek) * 100);
  return percent === 0 ? 'same' : `${percent > 0 ? '+' : '−'}${Math.abs(percent)} %`;
}
