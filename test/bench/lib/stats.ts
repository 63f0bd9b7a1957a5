/** Small statistics for noisy machines: medians, percentiles, and the spread of repeated runs. */

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The p-th percentile (0..100) by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const ordered = sorted(values);
  const rank = Math.min(ordered.length - 1, Math.max(0, Math.ceil((p / 100) * ordered.length) - 1));
  return ordered[rank]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  return ordered.length % 2 ? ordered[middle]! : (ordered[middle - 1]! + ordered[middle]!) / 2;
}

/** A metric over repeated runs: its median and the range the runs covered. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((value) => Number.isFinite(value));
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), runs: finite.length };
}

/**
 * Ratios of `ours` to `base`, run by run (round i of each was measured back to back, so both saw
 * the same machine noise), summarized. This is what the report's ratio columns show.
 */
export function ratios(ours: readonly number[], base: readonly number[]): Summary {
  const count = Math.min(ours.length, base.length);
  return summarize(Array.from({ length: count }, (_, index) => ours[index]! / base[index]!));
}

/** `1.23` with the given precision, or `n/a`. */
export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** `median (min–max)` with the given formatter; just the median for a single run. */
export function spread(summary: Summary, format: (value: number) => string = (value) => fixed(value)): string {
  if (!Number.isFinite(summary.median)) return 'n/a';
  if (summary.runs < 2) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

/** `1.07×` (min–max) */
export function ratio(summary: Summary): string {
  return spread(summary, (value) => `${fixed(value)}×`);
}

/** Thousands with a thin separator: 12 345. */
export function count(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}
