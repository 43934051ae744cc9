/**
 * Secret handling for the live harness: AES-256-GCM encryption of secret state values with a
 * per-stack key file, and a redactor that removes every known secret from printed text.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { Json } from "./types";

const PREFIX = "aes256gcm:v1:";

/** Reads `<file>` (hex key) or creates it once with mode 0600. */
export function loadOrCreateKey(file: string): Buffer {
  if (!fs.existsSync(file)) {
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString("hex") + "\n", {
        mode: 0o600,
        flag: "wx",
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  const key = Buffer.from(fs.readFileSync(file, "utf8").trim(), "hex");
  if (key.length !== 32) throw new Error(`secrets key file ${file} is not a 32-byte hex key`);
  return key;
}

export class SecretBox {
  constructor(private readonly key: Buffer) {}

  encrypt(value: Json): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, iv);
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return PREFIX + Buffer.concat([iv, tag, ct]).toString("base64");
  }

  decrypt(text: string): Json {
    if (!text.startsWith(PREFIX)) throw new Error("not an encrypted state value");
    const raw = Buffer.from(text.slice(PREFIX.length), "base64");
    const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const pt = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    return JSON.parse(pt.toString("utf8")) as Json;
  }
}

/** Key names whose values inside a structured secret (env map, `K=V` list) are redacted. */
const SENSITIVE = /pass|secret|token|credential|pwd|api_?key|private/i;

/**
 * Collects secret plaintexts and replaces them in anything printed. A scalar secret (string or
 * number of 3+ characters) is redacted wherever it appears. In a structured secret (a map or
 * list that became secret because one element was) only values under sensitive-looking keys
 * (`PGPASSWORD: ...`, `"API_TOKEN=..."`) are: the other elements are mostly harmless names, and
 * secret parts normally also arrive on their own as scalar secrets (random results, config).
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: Json | undefined): void {
    if (typeof value === "string" || typeof value === "number") this.addScalar(String(value));
    else this.walk(value, undefined);
  }

  private addScalar(s: string): void {
    if (s.length >= 3) this.secrets.add(s);
  }

  private walk(value: Json | undefined, key: string | undefined): void {
    if (value === null || value === undefined || typeof value === "boolean") return;
    if (typeof value === "string" || typeof value === "number") {
      const s = String(value);
      if (key !== undefined && SENSITIVE.test(key)) this.addScalar(s);
      const kv = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(s);
      if (kv && SENSITIVE.test(kv[1])) this.addScalar(kv[2]);
      return;
    }
    if (Array.isArray(value)) for (const v of value) this.walk(v, key);
    else for (const [k, v] of Object.entries(value)) this.walk(v, k);
  }

  redact(text: string): string {
    let out = text;
    // Longest first so that a secret containing another is removed whole.
    const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
    for (const s of sorted) {
      if (out.includes(s)) out = out.split(s).join("[secret]");
    }
    return out;
  }
}

/** The process-wide redactor: everything the harness prints goes through it. */
export const redactor = new Redactor();
