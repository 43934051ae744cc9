/**
 * A duration as the docker provider reads it back (Go's time.Duration.String()): any other
 * spelling differs from the state after every create and refresh, a perpetual diff.
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new Error(`goDuration: ${seconds} is not a whole number of seconds`);
  }
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}
