/**
 * Go's text formats, where the real providers (written in Go) put them into state or messages:
 * `time.Duration.String()` for durations the docker provider reads back, `%q` for the command
 * text in pulumi-command's error messages.
 */

const NS_PER_SECOND = 1_000_000_000;

/** Digits of `value / 10^precision` with the fraction's trailing zeros (and a bare dot) dropped. */
function decimal(value: number, precision: number): string {
  const unit = 10 ** precision;
  const whole = Math.floor(value / unit);
  const fraction = (value % unit).toString().padStart(precision, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** `time.Duration(ns).String()`: 600 s -> "10m0s", 1.5 s -> "1.5s", 0 -> "0s", 2 ms -> "2ms". */
export function goDuration(nanoseconds: number): string {
  if (!Number.isSafeInteger(nanoseconds)) throw new Error(`not a duration: ${nanoseconds}`);
  if (nanoseconds === 0) return "0s";
  const sign = nanoseconds < 0 ? "-" : "";
  const ns = Math.abs(nanoseconds);
  if (ns < 1_000) return `${sign}${ns}ns`;
  if (ns < 1_000_000) return `${sign}${decimal(ns, 3)}µs`;
  if (ns < NS_PER_SECOND) return `${sign}${decimal(ns, 6)}ms`;
  const totalSeconds = Math.floor(ns / NS_PER_SECOND);
  let text = `${decimal((totalSeconds % 60) * NS_PER_SECOND + (ns % NS_PER_SECOND), 9)}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes > 0) {
    text = `${totalMinutes % 60}m${text}`;
    const hours = Math.floor(totalMinutes / 60);
    if (hours > 0) text = `${hours}h${text}`;
  }
  return sign + text;
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** `strconv.Quote(s)` (what `%q` prints for a string). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    // A lone surrogate cannot come from valid UTF-8: Go would have seen the bytes as U+FFFD.
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd";
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + '"';
}
