/**
 * Secret handling for the live harness: AES-256-GCM encryption of secret state values with a
 * per-stack key file, and a redactor that masks secret config values in printed text.
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

/**
 * What the Pulumi CLI masks in everything it prints: the decrypted values of secret config
 * (`secure:` / `--secret`) of 3 or more characters, also in their JSON-escaped form. Other
 * secrets (generated passwords, secret outputs) are not masked: a program that prints them
 * leaks them, and the harness shows that leak just as the CLI would.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: Json | undefined): void {
    if (typeof value !== "string" || value.length < 3) return;
    this.secrets.add(value);
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.secrets.add(escaped);
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
