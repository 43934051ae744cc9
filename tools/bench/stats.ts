/** Summary statistics (pure). Every function returns NaN for an empty list. */

export function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : sum(xs) / xs.length;
}

export function max(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Math.max(...xs);
}

export function min(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Math.min(...xs);
}

/**
 * The p-th percentile (0..100) with linear interpolation between the closest ranks (numpy's
 * default): percentile([1, 2, 3, 4], 50) = 2.5.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}
