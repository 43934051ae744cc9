/**
 * `Pulumi.<stack>.yaml` as the Pulumi CLI reads and writes it (sdk/go/common/resource/config,
 * sdk/go/common/workspace, sdk/go/common/util/yamlutil):
 *
 * - top level `encryptionsalt` (passphrase provider) and `config`, a map of `<namespace>:<name>`
 *   keys; a value is a string, a structured value (maps, lists, numbers, booleans; what
 *   `config set --path` writes) or `{secure: <ciphertext>}`, also as a leaf of a structure;
 * - the program sees each value as text: strings as they are, secure values decrypted, anything
 *   else as Go's json.Marshal of it (keys sorted, `<>&` escaped) with secure leaves decrypted;
 * - writes keep the file's comments and key order and append new keys at the end of their map
 *   (the CLI edits the YAML nodes); a new file is written as Go's yaml.v3 writes it, indent 2.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import { deepEqual } from "./diff";
import { isObject, Json } from "./types";

/* ------------------------------------------------------------------------------------------ */
/* Keys and property paths                                                                     */

export class ConfigError extends Error {}

/** `<namespace>:<name>`; a key without a namespace belongs to the project (CLI: ParseConfigKey). */
export function parseConfigKey(project: string, key: string, path = false): string {
  if (path) {
    const i = key.search(/[.[]/);
    if (i > 0) return parseConfigKey(project, key.slice(0, i), false) + key.slice(i);
  }
  const full = key.includes(":") ? key : `${project}:${key}`;
  const parts = full.split(":");
  if (parts.length === 2) return full;
  if (parts.length === 3 && parts[1] === "config") return `${parts[0]}:${parts[2]}`;
  throw new ConfigError(
    `could not parse ${key} as a configuration key ` +
      "(configuration keys should be of the form `<namespace>:<name>`)",
  );
}

export function keyNamespace(key: string): string {
  return key.slice(0, key.indexOf(":"));
}

export function keyName(key: string): string {
  return key.slice(key.indexOf(":") + 1);
}

/** The key as the CLI prints it: without the namespace when it is the project's. */
export function prettyKey(project: string, key: string): string {
  return keyNamespace(key) === project ? keyName(key) : key;
}

export type PathElement = string | number;

/** Pulumi's strict property path syntax: `a.b`, `a[0]`, `a["b.c"]`, `["a"].b`. */
export function parsePropertyPath(text: string): PathElement[] {
  const elements: PathElement[] = [];
  let rest = text;
  if (rest.startsWith("."))
    throw new ConfigError("expected property path to start with a name or index");
  while (rest.length > 0) {
    if (rest[0] === ".") {
      rest = rest.slice(1);
      if (rest.length === 0)
        throw new ConfigError("expected property path to end with a name or index");
      if (rest[0] === "[") throw new ConfigError("expected property name after '.'");
    } else if (rest[0] === "[") {
      if (rest[1] === '"') {
        let key = "";
        let i = 2;
        for (;;) {
          if (i >= rest.length) throw new ConfigError("missing closing quote in property name");
          if (rest[i] === '"') {
            i++;
            break;
          }
          if (rest[i] === "\\" && rest[i + 1] === '"') {
            key += '"';
            i += 2;
          } else key += rest[i++];
        }
        if (rest[i] !== "]") throw new ConfigError("missing closing bracket in property access");
        elements.push(key);
        rest = rest.slice(i + 1);
      } else {
        const close = rest.indexOf("]");
        if (close < 0) throw new ConfigError("missing closing bracket in array index");
        const segment = rest.slice(1, close);
        if (segment === "*") elements.push("*");
        else if (/^[-+]?\d+$/.test(segment)) elements.push(Number(segment));
        else throw new ConfigError(`invalid array index: ${segment}`);
        rest = rest.slice(close + 1);
      }
    } else {
      const m = /^[^.[]*/.exec(rest) as RegExpExecArray;
      elements.push(m[0]);
      rest = rest.slice(m[0].length);
    }
  }
  return elements;
}

/** A path key (`ns:a.b[0]`) -> the stored key (`ns:a`) and the path below it (`[b, 0]`). */
export function splitKeyPath(key: string): { key: string; path: PathElement[] } {
  const path = parsePropertyPath(keyName(key));
  if (path.length === 0) throw new ConfigError("empty config key path");
  const first = path[0];
  if (typeof first !== "string") {
    throw new ConfigError("first path segement of config key must be a string");
  }
  if (first === "") throw new ConfigError("config key is empty");
  return { key: `${keyNamespace(key)}:${first}`, path: path.slice(1) };
}

/* ------------------------------------------------------------------------------------------ */
/* Values                                                                                      */

export function isSecure(v: Json | undefined): v is { secure: string } {
  return isObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";
}

export function containsSecure(v: Json | undefined): boolean {
  if (isSecure(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecure);
  if (isObject(v)) return Object.values(v as Record<string, Json>).some(containsSecure);
  return false;
}

/** Replaces every secure leaf with `f(ciphertext)`. */
export function mapSecure(v: Json, f: (ciphertext: string) => string): Json {
  if (isSecure(v)) return f(v.secure);
  if (Array.isArray(v)) return v.map((x) => mapSecure(x, f));
  if (isObject(v)) {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v as Record<string, Json>)) out[k] = mapSecure(x, f);
    return out;
  }
  return v;
}

/** Go's json.Marshal: map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function goJson(v: Json): string {
  const sortKeys = (x: Json): Json => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (isObject(x)) {
      const o = x as Record<string, Json>;
      const out: Record<string, Json> = {};
      for (const k of Object.keys(o).sort(compareCodePoints)) out[k] = sortKeys(o[k]);
      return out;
    }
    return x;
  };
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => {
    return "\\u" + (c.codePointAt(0) as number).toString(16).padStart(4, "0");
  });
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text the program (and `config get`) sees for a stored value, secure leaves via `reveal`. */
export function valueText(v: Json, reveal: (ciphertext: string) => string): string {
  if (typeof v === "string") return v;
  if (isSecure(v)) return reveal(v.secure);
  return goJson(mapSecure(v, reveal));
}

/** `config set --path`: "true"/"false" become booleans, integers (no leading 0) numbers. */
export function coerceLeaf(text: string): Json {
  if (text === "true") return true;
  if (text === "false") return false;
  if (text.length > 1 && text.startsWith("0")) return text;
  if (/^[-+]?\d+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  return text;
}

const SECURE_RESERVED = 'maps with the single key "secure" are reserved';

function describePath(prefix: PathElement[]): string {
  return `[${prefix.join(" ")}]`;
}

/** Go's object.Set: sets `path` below `root`, creating maps and lists on the way. */
export function setAtPath(root: Json | undefined, path: PathElement[], leaf: Json): Json {
  const set = (node: Json | undefined, rest: PathElement[], prefix: PathElement[]): Json => {
    if (rest.length === 0) return leaf;
    const head = rest[0];
    let container: Json;
    if (Array.isArray(node) || (isObject(node) && !isSecure(node))) container = node;
    else if (node === undefined || node === null || prefix.length === 1) {
      // COMPAT (as the CLI): a scalar at the first level is overwritten by a new container.
      container = typeof head === "number" ? new Array<Json>(head + 1).fill(null) : {};
    } else {
      throw new ConfigError(
        `${describePath(prefix)}: expected ${typeof head === "number" ? "an array" : "a map"}`,
      );
    }
    const here = [...prefix, head];
    if (Array.isArray(container)) {
      if (typeof head !== "number") {
        throw new ConfigError(`${describePath(here)}: key for an array must be an int`);
      }
      if (head < 0 || head > container.length) {
        throw new ConfigError(`${describePath(here)}: array index out of range`);
      }
      const copy = [...container];
      copy[head] = set(head < copy.length ? copy[head] : undefined, rest.slice(1), here);
      return copy;
    }
    if (typeof head !== "string") {
      throw new ConfigError(`${describePath(here)}: key for a map must be a string`);
    }
    const map = { ...(container as Record<string, Json>) };
    if (rest.length === 1 && Object.keys(map).length === 0 && head === "secure") {
      if (typeof leaf === "string") throw new ConfigError(SECURE_RESERVED);
    }
    map[head] = set(map[head], rest.slice(1), here);
    return map;
  };
  return set(root, path, []);
}

/** Go's object.Get. */
export function getAtPath(root: Json | undefined, path: PathElement[]): Json | undefined {
  let node = root;
  for (const p of path) {
    if (Array.isArray(node)) {
      if (typeof p !== "number" || p < 0 || p >= node.length) return undefined;
      node = node[p];
    } else if (isObject(node) && !isSecure(node)) {
      if (typeof p !== "string" || !(p in node)) return undefined;
      node = (node as Record<string, Json>)[p];
    } else return undefined;
  }
  return node;
}

/** Go's object.Delete: removes `path` below `root` (a missing member is no error). */
export function deleteAtPath(root: Json, path: PathElement[]): Json {
  const del = (node: Json, rest: PathElement[], prefix: PathElement[]): Json => {
    if (rest.length === 0) return node;
    const head = rest[0];
    const here = [...prefix, head];
    if (Array.isArray(node)) {
      if (typeof head !== "number" || head < 0 || head >= node.length) return node;
      const copy = [...node];
      if (rest.length === 1) copy.splice(head, 1);
      else copy[head] = del(copy[head], rest.slice(1), here);
      return copy;
    }
    if (isObject(node) && !isSecure(node)) {
      if (typeof head !== "string" || !(head in node)) return node;
      const map = { ...(node as Record<string, Json>) };
      if (rest.length === 1) {
        const others = Object.keys(map).filter((k) => k !== head);
        if (
          Object.keys(map).length === 2 &&
          others[0] === "secure" &&
          typeof map.secure === "string"
        ) {
          throw new ConfigError(`${describePath(here)}: ${SECURE_RESERVED}`);
        }
        delete map[head];
      } else map[head] = del(map[head], rest.slice(1), here);
      return map;
    }
    return node;
  };
  return del(root, path, []);
}

/* ------------------------------------------------------------------------------------------ */
/* The file                                                                                    */

export interface StackFile {
  path: string;
  /** The file as read; undefined when it does not exist. */
  text: string | undefined;
  encryptionSalt?: string;
  /** Stored values by full key, in file order. */
  config: Record<string, Json>;
  /** Other top-level keys, kept as they are. */
  other: Record<string, Json>;
}

function loadYaml(text: string, file: string): Json {
  try {
    return (yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file }) ?? null) as Json;
  } catch (e) {
    throw new ConfigError(`${file}: invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function readStackFile(file: string): StackFile {
  if (!fs.existsSync(file)) return { path: file, text: undefined, config: {}, other: {} };
  const text = fs.readFileSync(file, "utf8");
  const doc = loadYaml(text, file);
  if (doc !== null && !isObject(doc)) throw new ConfigError(`${file}: not a YAML map`);
  const top = (doc ?? {}) as Record<string, Json>;
  const { config = null, encryptionsalt, ...other } = top;
  if (config !== null && !isObject(config)) throw new ConfigError(`${file}: config is not a map`);
  if (
    encryptionsalt !== undefined &&
    encryptionsalt !== null &&
    typeof encryptionsalt !== "string"
  ) {
    throw new ConfigError(`${file}: encryptionsalt is not a string`);
  }
  const provider = other.secretsprovider;
  if (typeof provider === "string" && provider !== "" && provider !== "passphrase") {
    throw new ConfigError(
      `${file}: secrets provider ${provider} is not supported by the live harness ` +
        "(it implements the passphrase provider only)",
    );
  }
  const stored: Record<string, Json> = { ...((config ?? {}) as Record<string, Json>) };
  return {
    path: file,
    text,
    ...(typeof encryptionsalt === "string" && encryptionsalt !== ""
      ? { encryptionSalt: encryptionsalt }
      : {}),
    config: stored,
    other,
  };
}

/** What the file means, for comparing a written file with what was intended. */
function meaning(f: Pick<StackFile, "encryptionSalt" | "config" | "other">): Json {
  return {
    ...f.other,
    ...(f.encryptionSalt ? { encryptionsalt: f.encryptionSalt } : {}),
    ...(Object.keys(f.config).length > 0 ? { config: f.config } : {}),
  };
}

/**
 * Writes the stack file. An existing file is edited in place (comments, order and untouched
 * lines kept; new keys appended to their map, as the CLI's node edit does); if the edit would
 * not read back as intended, the whole file is written anew.
 */
export function writeStackFile(f: StackFile): void {
  let text: string | undefined;
  if (f.text !== undefined) {
    text = editStackText(f.text, f);
    if (text !== undefined) {
      const back = loadYaml(text, f.path);
      const read = { ...(isObject(back) ? (back as Record<string, Json>) : {}) };
      if (read.config === null) delete read.config;
      if (!deepEqual(read, meaning(f))) text = undefined;
    }
  }
  if (text === undefined) text = renderStackFile(f, f.text === undefined);
  fs.writeFileSync(f.path, text, { mode: 0o644 });
  f.text = text;
}

/** A whole stack file as the CLI writes a new one (yaml.v3, indent 2, map keys sorted). */
export function renderStackFile(
  f: Pick<StackFile, "encryptionSalt" | "config" | "other">,
  sortKeys = true,
): string {
  const order = ["secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment"];
  const top: Record<string, Json> = meaning(f) as Record<string, Json>;
  const keys = Object.keys(top).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib);
  });
  const lines: string[] = [];
  for (const k of keys) lines.push(...renderEntry(k, top[k], 0, sortKeys));
  return lines.length > 0 ? lines.join("\n") + "\n" : "{}\n";
}

/* ------------------------------------------------------------------------------------------ */
/* YAML rendering (gopkg.in/yaml.v3's choices)                                                 */

/** yaml.v3's map key order: natural order of digit runs, non-letters before letters. */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  const isDigit = (c: string) => c >= "0" && c <= "9";
  const isLetter = (c: string) => /\p{L}/u.test(c);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      digits = isDigit(ar[i]);
      continue;
    }
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i] < br[i];
    if (al || bl) return digits ? al : bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === "0" || br[i] === "0") {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== "0") {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + Number(ar[ai]);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i] < br[i];
  }
  return ar.length < br.length;
}

const OLD_BOOLS = new Set(
  "y Y yes Yes YES on On ON n N no No NO off Off OFF true True TRUE false False FALSE".split(" "),
);
const NULLS = new Set(["", "~", "null", "Null", "NULL"]);

/** Would yaml.v3 read this plain text as something other than a string? */
function resolvesToNonString(s: string): boolean {
  if (NULLS.has(s) || OLD_BOOLS.has(s)) return true;
  if (/^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/.test(s)) return true;
  if (/^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return true;
  if (/^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$/.test(s)) return true;
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(s)) return true; // base 60
  if (/^\d{4}-\d\d?-\d\d?([Tt ].*)?$/.test(s)) return true; // timestamps
  return false;
}

/** libyaml's analysis: may this text be written plain in block context? */
function plainAllowed(s: string): boolean {
  if (s === "" || /^\s|\s$/.test(s)) return false;
  if (s.startsWith("---") || s.startsWith("...")) return false;
  if (/^[#,[\]{}&*!|>'"%@`]/.test(s)) return false;
  if (/^[-?:](\s|$)/.test(s)) return false;
  if (/:(\s|$)|\s#/.test(s)) return false;
  return !/[^\x20-\x7e\u0085\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.test(s);
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\0") out += "\\0";
    else if (cp < 0x20 || cp === 0x7f)
      out += "\\x" + cp.toString(16).toUpperCase().padStart(2, "0");
    else if (cp === 0xfeff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += "\\u" + cp.toString(16).toUpperCase().padStart(4, "0");
    } else out += ch;
  }
  return out + '"';
}

/** A string scalar as yaml.v3 writes it: plain, 'single' or "double" quoted. */
export function yamlString(s: string): string {
  if (s.includes("\n") || resolvesToNonString(s)) return doubleQuoted(s);
  if (plainAllowed(s)) return s;
  if (/^[\x20-\x7e\u00a0-\uffff]*$/.test(s) && !/^\s|\s$/.test(s)) {
    return `'${s.replace(/'/g, "''")}'`;
  }
  return doubleQuoted(s);
}

function yamlScalar(v: Json): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return ".nan";
    if (!Number.isFinite(v)) return v > 0 ? ".inf" : "-.inf";
    return String(v);
  }
  return yamlString(String(v));
}

function entries(v: Record<string, Json>, sortKeys: boolean): [string, Json][] {
  const list = Object.entries(v);
  if (sortKeys) list.sort(([a], [b]) => (yamlKeyLess(a, b) ? -1 : yamlKeyLess(b, a) ? 1 : 0));
  return list;
}

/** `key: value` at `indent`, block style, as lines. */
export function renderEntry(key: string, value: Json, indent: number, sortKeys = true): string[] {
  const pad = " ".repeat(indent);
  const k = yamlString(key);
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}${k}: []`];
    return [`${pad}${k}:`, ...value.flatMap((x) => renderItem(x, indent + 2, sortKeys))];
  }
  if (isObject(value)) {
    const list = entries(value as Record<string, Json>, sortKeys);
    if (list.length === 0) return [`${pad}${k}: {}`];
    return [
      `${pad}${k}:`,
      ...list.flatMap(([ck, cv]) => renderEntry(ck, cv, indent + 2, sortKeys)),
    ];
  }
  return [`${pad}${k}: ${yamlScalar(value)}`];
}

function renderItem(value: Json, indent: number, sortKeys: boolean): string[] {
  const pad = " ".repeat(indent);
  let inner: string[];
  if (Array.isArray(value) && value.length > 0) {
    inner = value.flatMap((x) => renderItem(x, indent + 2, sortKeys));
  } else if (isObject(value) && Object.keys(value).length > 0) {
    inner = entries(value as Record<string, Json>, sortKeys).flatMap(([k, v]) =>
      renderEntry(k, v, indent + 2, sortKeys),
    );
  } else {
    const empty = Array.isArray(value) ? "[]" : isObject(value) ? "{}" : yamlScalar(value);
    return [`${pad}- ${empty}`];
  }
  inner[0] = `${pad}- ${inner[0].slice(indent + 2)}`;
  return inner;
}

/* ------------------------------------------------------------------------------------------ */
/* Editing an existing file line by line                                                       */

interface Analysed {
  text: string;
  indent: number;
  /** Blank or comment-only. */
  trivia: boolean;
}

function analyse(text: string): Analysed[] {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  return lines.map((t) => {
    const indent = /^ */.exec(t)![0].length;
    const rest = t.slice(indent);
    return { text: t, indent, trivia: rest === "" || rest.startsWith("#") };
  });
}

/** The key of a `key: ...` line (plain, "double" or 'single' quoted), or undefined. */
function lineKey(line: string): { key: string; rest: string } | undefined {
  const body = line.trimStart();
  let m = /^"((?:[^"\\]|\\.)*)":(?:\s|$)/.exec(body);
  if (m) {
    try {
      return { key: JSON.parse(`"${m[1]}"`) as string, rest: body.slice(m[0].length) };
    } catch {
      return undefined;
    }
  }
  m = /^'((?:[^']|'')*)':(?:\s|$)/.exec(body);
  if (m) return { key: m[1].replace(/''/g, "'"), rest: body.slice(m[0].length) };
  m = /^([^\s"'#\-?:[\]{},&*!|>%@`][^]*?):(?:\s|$)/.exec(body);
  if (m) return { key: m[1].trimEnd(), rest: body.slice(m[0].length) };
  return undefined;
}

/** Index after the last non-trivia line that belongs to the node starting at `start`. */
function nodeEnd(lines: Analysed[], start: number, indent: number, limit: number): number {
  let end = start + 1;
  for (let i = start + 1; i < limit; i++) {
    const l = lines[i];
    if (l.text.trim() === "") continue;
    if (l.indent <= indent) break;
    end = i + 1;
  }
  return end;
}

function onlyComment(rest: string): boolean {
  const r = rest.trim();
  return r === "" || r.startsWith("#");
}

/**
 * Edits the original text so that it holds `f`'s encryptionsalt and config: changed entries are
 * re-rendered where they are, removed ones dropped, new ones appended. Undefined when the file's
 * shape is not one this line editor handles (flow style, anchors, ...).
 */
function editStackText(original: string, f: StackFile): string | undefined {
  const lines = analyse(original);
  const before = readStackMeaning(original);
  if (!before) return undefined;
  const out = lines.map((l) => l.text);
  const replaceRange = (from: number, to: number, with_: string[]) => {
    out.splice(from, to - from, ...with_);
    lines.splice(
      from,
      to - from,
      ...with_.map((t) => ({ text: t, indent: /^ */.exec(t)![0].length, trivia: false })),
    );
  };
  const topIndex = (key: string): number =>
    lines.findIndex((l) => l.indent === 0 && !l.trivia && lineKey(l.text)?.key === key);

  // encryptionsalt: a one-line top-level entry.
  if (f.encryptionSalt !== before.encryptionSalt) {
    const i = topIndex("encryptionsalt");
    const rendered = f.encryptionSalt ? renderEntry("encryptionsalt", f.encryptionSalt, 0) : [];
    if (i >= 0) {
      const end = nodeEnd(lines, i, 0, lines.length);
      replaceRange(i, end, rendered);
    } else {
      replaceRange(lines.length, lines.length, rendered);
    }
  }

  // config entries.
  const wanted = f.config;
  const changed = Object.keys(wanted).filter((k) => !deepEqual(wanted[k], before.config[k]));
  const removed = Object.keys(before.config).filter((k) => !(k in wanted));
  if (changed.length === 0 && removed.length === 0) return out.join("\n") + "\n";
  const c = topIndex("config");
  if (c < 0) {
    replaceRange(lines.length, lines.length, [
      "config:",
      ...changed.flatMap((k) => renderEntry(k, wanted[k], 2, false)),
    ]);
    return out.join("\n") + "\n";
  }
  if (!onlyComment(lineKey(lines[c].text)!.rest)) return undefined;
  const blockEnd = (): number => {
    for (let i = c + 1; i < lines.length; i++) {
      if (!lines[i].trivia && lines[i].indent === 0) return i;
    }
    return lines.length;
  };
  const firstEntry = lines.findIndex((l, i) => i > c && i < blockEnd() && !l.trivia);
  const indent = firstEntry >= 0 ? lines[firstEntry].indent : 2;
  const entryIndex = (key: string): number => {
    const end = blockEnd();
    for (let i = c + 1; i < end; i++) {
      const l = lines[i];
      if (!l.trivia && l.indent === indent && lineKey(l.text)?.key === key) return i;
    }
    return -1;
  };
  for (const k of removed) {
    const i = entryIndex(k);
    if (i < 0) return undefined;
    replaceRange(i, nodeEnd(lines, i, indent, blockEnd()), []);
  }
  for (const k of changed) {
    const rendered = renderEntry(k, wanted[k], indent, false);
    const i = entryIndex(k);
    if (i >= 0) {
      replaceRange(i, nodeEnd(lines, i, indent, blockEnd()), rendered);
      continue;
    }
    // Appended after the last entry of the block (comments that follow it stay after it).
    let last = c;
    const end = blockEnd();
    for (let j = c + 1; j < end; j++) if (!lines[j].trivia && lines[j].indent === indent) last = j;
    const at = last === c ? c + 1 : nodeEnd(lines, last, indent, end);
    replaceRange(at, at, rendered);
  }
  // An empty config map is left out, as the CLI leaves it out (omitempty); an empty file is `{}`.
  if (Object.keys(wanted).length === 0) replaceRange(c, c + 1, []);
  if (lines.every((l) => l.trivia)) out.push("{}");
  return out.join("\n") + "\n";
}

function readStackMeaning(text: string): Pick<StackFile, "encryptionSalt" | "config"> | undefined {
  let doc: Json;
  try {
    doc = (yaml.load(text, { schema: yaml.CORE_SCHEMA }) ?? null) as Json;
  } catch {
    return undefined;
  }
  if (doc !== null && !isObject(doc)) return undefined;
  const top = (doc ?? {}) as Record<string, Json>;
  const config = top.config ?? {};
  if (!isObject(config)) return undefined;
  const salt = top.encryptionsalt;
  return {
    ...(typeof salt === "string" && salt !== "" ? { encryptionSalt: salt } : {}),
    config: config as Record<string, Json>,
  };
}
