/**
 * Checks the value of a stack `parameters` entry the way PostgreSQL 15 parses it when it reads
 * postgresql.conf (src/backend/utils/misc/guc.c: parse_bool, parse_int, parse_real, enum
 * lookup, range checks), so that a value the server would refuse stops the program before any
 * resource exists instead of leaving a primary that cannot start. Pure: the only input besides
 * the arguments is postgres15-parameters.json (tools/pg-parameters/extract.sh regenerates it
 * from a real server).
 *
 * Check hooks that PostgreSQL runs after parsing are not imitated, except where the data
 * records their effect (a refused boolean, an effective maximum); string values are accepted
 * as they are.
 */
import * as rawData from "./postgres15-parameters.json";
import type { ParameterValue } from "./settings";

export type ParameterVartype = "bool" | "integer" | "real" | "string" | "enum";

/** One row of pg_settings, plus what PostgreSQL accepts beyond what pg_settings lists. */
export interface ParameterSpec {
  readonly name: string;
  readonly context: string;
  readonly vartype: ParameterVartype;
  /** Base unit of an integer or real parameter: B, kB, 8kB, MB, ms, s or min. */
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly bootVal?: number;
  readonly enumvals?: readonly string[];
  /** Accepted enum spellings pg_settings does not list, with the value each stands for. */
  readonly hiddenEnumvals?: Readonly<Record<string, string>>;
  /** Boolean values (on, off) this build refuses, with the server's reason. */
  readonly refused?: Readonly<Record<string, string>>;
  /** The largest value the server accepts when a check hook refuses max. */
  readonly effectiveMax?: number;
  readonly effectiveMaxNote?: string;
}

const VARTYPES: readonly string[] = ["bool", "integer", "real", "string", "enum"];

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function optionalNumber(row: Record<string, unknown>, key: string): number | undefined {
  const value = row[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new Error(`${key} is not a number`);
  return value;
}

function optionalString(row: Record<string, unknown>, key: string): string | undefined {
  const value = row[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new Error(`${key} is not a string`);
  return value;
}

function optionalStringMap(
  row: Record<string, unknown>,
  key: string,
): Record<string, string> | undefined {
  if (row[key] === undefined) return undefined;
  const map = record(row[key]);
  if (!map || !Object.values(map).every((v) => typeof v === "string")) {
    throw new Error(`${key} is not an object of strings`);
  }
  return map as Record<string, string>;
}

/**
 * The data file is generated, but it is also a file someone can edit by hand: a malformed row
 * must fail loudly at load time rather than make every value of that parameter pass.
 */
function loadSpecs(data: unknown): ReadonlyMap<string, ParameterSpec> {
  const parameters = record(record(data)?.parameters);
  if (!parameters) throw new Error("postgres15-parameters.json has no parameters object");
  const specs = new Map<string, ParameterSpec>();
  for (const [name, value] of Object.entries(parameters)) {
    try {
      const row = record(value);
      if (!row) throw new Error("not an object");
      const context = optionalString(row, "context");
      const vartype = optionalString(row, "vartype");
      if (context === undefined) throw new Error("no context");
      if (vartype === undefined || !VARTYPES.includes(vartype)) throw new Error("bad vartype");
      const enumvals = row.enumvals;
      if (
        enumvals !== undefined &&
        !(Array.isArray(enumvals) && enumvals.every((v) => typeof v === "string"))
      ) {
        throw new Error("enumvals is not a list of strings");
      }
      const spec: ParameterSpec = {
        name,
        context,
        vartype: vartype as ParameterVartype,
        unit: optionalString(row, "unit"),
        min: optionalNumber(row, "min_val"),
        max: optionalNumber(row, "max_val"),
        bootVal: optionalNumber(row, "boot_val"),
        enumvals: enumvals as string[] | undefined,
        hiddenEnumvals: optionalStringMap(row, "hidden_enumvals"),
        refused: optionalStringMap(row, "refused"),
        effectiveMax: optionalNumber(row, "effective_max"),
        effectiveMaxNote: optionalString(row, "effective_max_note"),
      };
      const numeric = spec.vartype === "integer" || spec.vartype === "real";
      if (numeric && (spec.min === undefined || spec.max === undefined)) {
        throw new Error("no min_val/max_val");
      }
      if (spec.vartype === "enum" && spec.enumvals === undefined) throw new Error("no enumvals");
      specs.set(name, spec);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`postgres15-parameters.json: parameter ${name}: ${reason}`);
    }
  }
  return specs;
}

const SPECS = loadSpecs(rawData);

/** What pg_settings says of a PostgreSQL 15 parameter, if the name is one. */
export function parameterSpec(name: string): ParameterSpec | undefined {
  return SPECS.get(name);
}

/** Parameter name -> context (`postmaster`, `sighup`, `internal`, …), for every parameter. */
export const parameterContexts: Readonly<Record<string, string>> = Object.fromEntries(
  [...SPECS.values()].map((spec) => [spec.name, spec.context]),
);

// ---------------------------------------------------------------------------------------
// C library behaviour PostgreSQL relies on (glibc, "C"-like ctype for ASCII).

const SPACE = /[ \t\n\v\f\r]/;
const isSpace = (c: string | undefined): boolean => c !== undefined && SPACE.test(c);

interface Scan {
  /** The value as a double, as C has it after the conversion. */
  readonly value: number;
  /** Index just after what was converted; 0 when nothing was (C's endptr == nptr). */
  readonly end: number;
  /** errno == ERANGE. */
  readonly range: boolean;
}

const NOTHING: Scan = { value: 0, end: 0, range: false };
const LONG_MAX = 2n ** 63n - 1n;

function skipSpaces(text: string, from: number): number {
  let i = from;
  while (isSpace(text[i])) i++;
  return i;
}

/** strtol(text, &end, 0) on a 64-bit long: decimal, 0-prefixed octal or 0x-prefixed hex. */
function strtol(text: string): Scan {
  let i = skipSpaces(text, 0);
  let negative = false;
  if (text[i] === "+" || text[i] === "-") negative = text[i++] === "-";
  let base = 10;
  let digits = /[0-9]/;
  if (text[i] === "0" && /[xX]/.test(text[i + 1] ?? "") && /[0-9a-fA-F]/.test(text[i + 2] ?? "")) {
    base = 16;
    digits = /[0-9a-fA-F]/;
    i += 2;
  } else if (text[i] === "0") {
    base = 8;
    digits = /[0-7]/;
  }
  const start = i;
  let magnitude = 0n;
  while (i < text.length && digits.test(text[i])) {
    magnitude = magnitude * BigInt(base) + BigInt(parseInt(text[i], 16));
    i++;
  }
  if (i === start) return NOTHING;
  const limit = negative ? LONG_MAX + 1n : LONG_MAX;
  const range = magnitude > limit;
  const clamped = range ? limit : magnitude;
  return { value: Number(negative ? -clamped : clamped), end: i, range };
}

const DBL_MIN = 2.2250738585072014e-308;

/** strtod(text, &end): decimal and hex floats, inf/infinity, nan, with glibc's ERANGE. */
function strtod(text: string): Scan {
  const i = skipSpaces(text, 0);
  const rest = text.slice(i);
  const sign = /^[+-]/.test(rest) ? rest[0] : "";
  const body = rest.slice(sign.length);
  const negative = sign === "-";
  const at = i + sign.length;

  const special = /^(infinity|inf|nan(\([0-9A-Za-z_]*\))?)/i.exec(body);
  if (special) {
    const value = /^n/i.test(special[0]) ? NaN : Infinity;
    return { value: negative ? -value : value, end: at + special[0].length, range: false };
  }

  const hex =
    /^0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?/.exec(
      body,
    );
  if (hex) {
    const whole = hex[1] ?? "";
    const fraction = hex[2] ?? hex[3] ?? "";
    const exponent = Number(hex[4] ?? "0") - 4 * fraction.length;
    const mantissa = BigInt(`0x${whole}${fraction}`);
    const magnitude = Number(mantissa) * 2 ** exponent;
    return finish(magnitude, mantissa !== 0n, negative, at + hex[0].length);
  }

  const decimal = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(body);
  if (!decimal) return NOTHING;
  const magnitude = Number(decimal[0]);
  const nonZero = /[1-9]/.test(decimal[0].replace(/[eE].*$/, ""));
  return finish(magnitude, nonZero, negative, at + decimal[0].length);
}

function finish(magnitude: number, nonZero: boolean, negative: boolean, end: number): Scan {
  // glibc reports ERANGE on overflow and on underflow (a tiny, inexact result).
  const range = magnitude === Infinity || (nonZero && magnitude < DBL_MIN);
  return { value: negative ? -magnitude : magnitude, end, range };
}

/** C's rint() in the default rounding mode: to nearest, ties to even. */
export function rint(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * printf("%g"), which is how SHOW and `postgres -C` print a real parameter. A value exactly
 * half-way at the sixth significant digit rounds up here and to even in C; only what is
 * displayed can differ, never a verdict.
 */
export function formatG(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, exponentText] = x.toExponential(5).split("e");
  const exponent = Number(exponentText);
  const trim = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exponent < -4 || exponent >= 6) {
    const digits = String(Math.abs(exponent)).padStart(2, "0");
    return `${trim(mantissa)}e${exponent < 0 ? "-" : "+"}${digits}`;
  }
  return trim(x.toFixed(5 - exponent));
}

// ---------------------------------------------------------------------------------------
// Units, as in guc.c's conversion tables: every memory unit applies to every memory
// parameter and every time unit to every time parameter, largest first.

interface UnitFamily {
  readonly kind: "memory" | "time";
  /** Unit names with their size in the family's smallest measure (bytes, microseconds). */
  readonly units: readonly (readonly [string, bigint])[];
}

const MEMORY: UnitFamily = {
  kind: "memory",
  units: [
    ["TB", 1024n ** 4n],
    ["GB", 1024n ** 3n],
    ["MB", 1024n ** 2n],
    ["kB", 1024n],
    ["B", 1n],
  ],
};
const TIME: UnitFamily = {
  kind: "time",
  units: [
    ["d", 86_400_000_000n],
    ["h", 3_600_000_000n],
    ["min", 60_000_000n],
    ["s", 1_000_000n],
    ["ms", 1_000n],
    ["us", 1n],
  ],
};

interface BaseUnit {
  readonly family: UnitFamily;
  /** Size of one base unit in the family's smallest measure (8192 for "8kB"). */
  readonly size: bigint;
  readonly name: string;
}

function baseUnit(unit: string | undefined): BaseUnit | undefined {
  if (unit === undefined) return undefined;
  const memory = /^([0-9]*)(TB|GB|MB|kB|B)$/.exec(unit);
  if (memory) {
    const size = MEMORY.units.find(([name]) => name === memory[2])?.[1] ?? 1n;
    return { family: MEMORY, size: BigInt(memory[1] || "1") * size, name: unit };
  }
  const time = TIME.units.find(([name]) => name === unit);
  if (time) return { family: TIME, size: time[1], name: unit };
  throw new Error(`postgres15-parameters.json: unknown unit ${unit}`);
}

/**
 * guc.c's convert_to_base_unit: the unit is at most three characters, case-sensitive, may be
 * followed by spaces only; a fractional amount is first rounded to a whole number of the next
 * smaller unit ("1.5GB" is exact, "0.3kB" is 307B).
 */
function convertToBaseUnit(value: number, unitText: string, base: BaseUnit): number | undefined {
  let i = 0;
  while (i < unitText.length && !isSpace(unitText[i]) && i < 3) i++;
  const unit = unitText.slice(0, i);
  if (skipSpaces(unitText, i) !== unitText.length) return undefined;
  const units = base.family.units;
  const index = units.findIndex(([name]) => name === unit);
  if (index < 0) return undefined;
  // A single division of exact integers: the same double as guc.c's table entry.
  const multiplier = (u: bigint) => Number(u) / Number(base.size);
  let converted = value * multiplier(units[index][1]);
  const next = units[index + 1];
  if (next) converted = rint(converted / multiplier(next[1])) * multiplier(next[1]);
  return converted;
}

/** The value in the parameter's base unit, not yet rounded; undefined when it does not parse. */
function parseNumber(text: string, spec: ParameterSpec, integer: boolean): number | undefined {
  let scan = integer ? strtol(text) : strtod(text);
  // parse_int: what stops at a decimal point, an exponent or an overflow is read again as
  // a float (so "1.5", "1e3" and "99999999999999999999" are numbers, "08" is not).
  if (integer && (/[.eE]/.test(text[scan.end] ?? "") || scan.range)) scan = strtod(text);
  if (scan.end === 0 || scan.range || Number.isNaN(scan.value)) return undefined;
  const after = skipSpaces(text, scan.end);
  if (after === text.length) return scan.value;
  const base = baseUnit(spec.unit);
  return base ? convertToBaseUnit(scan.value, text.slice(after), base) : undefined;
}

// ---------------------------------------------------------------------------------------
// The check itself.

/** How the stack value reaches the server: instance-config.ts's parameterLine. */
function serverText(value: ParameterValue): string {
  if (typeof value === "boolean") return value ? "on" : "off";
  return String(value);
}

function show(value: ParameterValue): string {
  return JSON.stringify(value);
}

/** pg_strcasecmp folds ASCII letters only; toLowerCase would also fold, e.g., the Kelvin sign. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** parse_bool: true/false/yes/no (or a prefix of one), on/off (or "of"), 1/0; any case. */
export function parseBool(text: string): boolean | undefined {
  const lower = asciiLower(text);
  if (lower.length === 0) return undefined;
  const prefixOf = (word: string) => word.startsWith(lower);
  switch (lower[0]) {
    case "t":
      return prefixOf("true") ? true : undefined;
    case "f":
      return prefixOf("false") ? false : undefined;
    case "y":
      return prefixOf("yes") ? true : undefined;
    case "n":
      return prefixOf("no") ? false : undefined;
    case "o":
      // "o" alone could be either.
      if (lower === "on") return true;
      return lower.length >= 2 && prefixOf("off") ? false : undefined;
    case "1":
      return lower === "1" ? true : undefined;
    case "0":
      return lower === "0" ? false : undefined;
    default:
      return undefined;
  }
}

function formatInBaseUnits(value: number, base: BaseUnit | undefined): string {
  // Negative settings are sentinels (-1: disabled, or chosen by the server), not amounts.
  if (!base || value < 0) return String(value);
  if (value === 0) return `0${/^[0-9]/.test(base.name) ? "kB" : base.name}`;
  const amount = BigInt(value) * base.size;
  for (const [name, size] of base.family.units) {
    if (amount % size === 0n) return `${amount / size}${name}`;
  }
  return `${value}${base.name}`;
}

const MEMORY_UNITS = "B, kB, MB, GB or TB";
const TIME_UNITS = "us, ms, s, min, h or d";

/** A value to show as an example: the default when it is a positive one, else 1MB or 1s. */
function exampleValue(spec: ParameterSpec, base: BaseUnit): number {
  const min = spec.min ?? 0;
  const max = spec.effectiveMax ?? spec.max ?? 0;
  const round = base.family.kind === "memory" ? 1024n ** 2n : 1_000_000n;
  const candidates = [spec.bootVal ?? 0, Number(round) / Number(base.size), Math.max(min, 1)];
  return (
    candidates.find((v) => v > 0 && Number.isInteger(v) && v >= min && v <= max) ?? Math.max(min, 1)
  );
}

/** "an amount of memory such as "4MB" (…; 64kB to 2147483647kB)" and the like. */
function numericExpectation(spec: ParameterSpec, integer: boolean): string {
  const base = baseUnit(spec.unit);
  const min = spec.min ?? 0;
  const max = spec.effectiveMax ?? spec.max ?? 0;
  const format = (v: number) =>
    integer ? formatInBaseUnits(v, base) : `${formatG(v)}${base?.name ?? ""}`;
  // DBL_MAX is no limit anyone means to state.
  const unbounded = !integer && max === Number.MAX_VALUE;
  const range = unbounded ? `at least ${format(min)}` : `${format(min)} to ${format(max)}`;
  let limitReason = "";
  if (spec.effectiveMax !== undefined) {
    limitReason = spec.effectiveMaxNote
      ? `the server refuses more: ${spec.effectiveMaxNote.replace(/\.$/, "")}`
      : `PostgreSQL's limit is ${format(spec.max ?? 0)}, but with its other settings at their ` +
        `defaults the server refuses more than ${format(spec.effectiveMax)}`;
  }
  if (!base) {
    const what = integer ? "an integer" : "a number";
    return `${what} ${unbounded ? "of" : "from"} ${range}${limitReason ? ` (${limitReason})` : ""}`;
  }
  const what = base.family.kind === "memory" ? "an amount of memory" : "a duration";
  const units = base.family.kind === "memory" ? MEMORY_UNITS : TIME_UNITS;
  const bare = /^[0-9]/.test(base.name) ? `${base.name} blocks` : base.name;
  return (
    `${what} such as "${format(exampleValue(spec, base))}" (unit ${units}; a bare number ` +
    `is in ${bare}; ${range}${limitReason ? `; ${limitReason}` : ""})`
  );
}

/** What the server makes of a value: its setting as SHOW prints it, or why it refuses it. */
export type ParameterVerdict =
  | { readonly accepted: true; readonly setting: string }
  | { readonly accepted: false; readonly problem: string };

function refuse(name: string, value: ParameterValue, why: string): ParameterVerdict {
  return { accepted: false, problem: `parameters.${name}: ${show(value)} is not allowed; ${why}` };
}

/**
 * PostgreSQL 15's verdict on `name = value` in postgresql.conf, written as this program writes
 * it. For a name that is not a PostgreSQL 15 parameter (an extension's, or a typo, reported
 * elsewhere), the value is accepted as it is.
 */
export function parameterVerdict(name: string, value: ParameterValue): ParameterVerdict {
  const spec = SPECS.get(name);
  const text = serverText(value);
  if (!spec) return { accepted: true, setting: text };
  if (spec.context === "internal") {
    return refuse(
      name,
      value,
      `"${name}" is fixed when PostgreSQL is built or its data directory is created, ` +
        "and cannot be set",
    );
  }
  // The configuration file's lexer reads 1e-7 or 1e+21 unquoted as a syntax error; a string
  // is written quoted and reaches the parser below intact.
  if (typeof value === "number" && /e/i.test(text)) {
    return refuse(
      name,
      value,
      "postgresql.conf cannot take a number with an exponent unquoted; give it as a string " +
        `such as "${text}"`,
    );
  }
  switch (spec.vartype) {
    case "bool": {
      const parsed = parseBool(text);
      const expected =
        "expected on, off, true, false, yes, no, 1 or 0 (any case, or a unique prefix such as " +
        '"t" or "of")';
      if (parsed === undefined) return refuse(name, value, expected);
      const setting = parsed ? "on" : "off";
      const reason = spec.refused?.[setting];
      if (reason !== undefined) {
        return refuse(name, value, `PostgreSQL 15 refuses ${setting} here: ${reason}`);
      }
      return { accepted: true, setting };
    }
    case "enum": {
      const lower = asciiLower(text);
      const listed = (spec.enumvals ?? []).find((v) => asciiLower(v) === lower);
      const hidden = Object.entries(spec.hiddenEnumvals ?? {}).find(
        ([v]) => asciiLower(v) === lower,
      );
      if (listed !== undefined) return { accepted: true, setting: listed };
      if (hidden !== undefined) return { accepted: true, setting: hidden[1] };
      return refuse(name, value, `expected one of ${(spec.enumvals ?? []).join(", ")} (any case)`);
    }
    case "integer":
    case "real": {
      const integer = spec.vartype === "integer";
      const expected = `expected ${numericExpectation(spec, integer)}`;
      const parsed = parseNumber(text, spec, integer);
      if (parsed === undefined) return refuse(name, value, expected);
      const number = integer ? rint(parsed) : parsed;
      if (integer && (number > 2147483647 || number < -2147483648)) {
        return refuse(name, value, `${expected}; it exceeds the integer range`);
      }
      if (number < (spec.min ?? 0) || number > (spec.effectiveMax ?? spec.max ?? 0)) {
        const base = baseUnit(spec.unit);
        const taken = integer
          ? formatInBaseUnits(number, base)
          : `${formatG(number)}${base?.name ?? ""}`;
        const side = number < (spec.min ?? 0) ? "below the minimum" : "above the maximum";
        const verb = number === parsed ? "is" : "rounds to";
        const meaning = taken === text.trim() ? "is" : `${verb} ${taken},`;
        return refuse(name, value, `${expected}; ${show(value)} ${meaning} ${side}`);
      }
      return { accepted: true, setting: integer ? String(number) : formatG(number) };
    }
    case "string":
      return { accepted: true, setting: text };
  }
}

/**
 * undefined when PostgreSQL 15 accepts `name = value`, else one message naming the key, the
 * value and what is allowed.
 */
export function parameterValueProblem(name: string, value: ParameterValue): string | undefined {
  const verdict = parameterVerdict(name, value);
  return verdict.accepted ? undefined : verdict.problem;
}
