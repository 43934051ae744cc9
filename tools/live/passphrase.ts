/**
 * The Pulumi CLI's passphrase secrets provider, as its source has it
 * (pkg/secrets/passphrase/manager.go, sdk/go/common/resource/config/crypt.go):
 *
 * - key = PBKDF2-HMAC-SHA256(passphrase, 8-byte salt, 1,000,000 iterations, 32 bytes);
 * - a value is AES-256-GCM of the plain string (not JSON-encoded), written
 *   `v1:<base64 12-byte nonce>:<base64 ciphertext+tag>`;
 * - the stack file's `encryptionsalt` is `v1:<base64 salt>:<"pulumi" encrypted that way>`, which
 *   tells a right passphrase from a wrong one.
 *
 * The passphrase comes from PULUMI_CONFIG_PASSPHRASE, else the file PULUMI_CONFIG_PASSPHRASE_FILE
 * names (trimmed, as the CLI does), else `<program>/.pulumi-state/passphrase`, the file
 * `npm run deploy` (scripts/deploy.sh) generates and passes to the CLI.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const PBKDF2_ITERATIONS = 1_000_000;
const KEY_BYTES = 32;
const SALT_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** What the CLI encrypts into `encryptionsalt` to recognise the passphrase. */
const CHECK_TEXT = "pulumi";

/** The variables and file the CLI (and `npm run deploy`) take the passphrase from. */
export const PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE";
export const PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE";
export const DEFAULT_PASSPHRASE_FILE = path.join(".pulumi-state", "passphrase");

export class PassphraseError extends Error {}

/** AES-256-GCM with a passphrase-derived key: Pulumi's `symmetricCrypter`. */
export class SymmetricCrypter {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error("AES-256-GCM needs a 32 byte key");
  }

  static fromPassphrase(passphrase: string, salt: Buffer): SymmetricCrypter {
    return new SymmetricCrypter(deriveKey(passphrase, salt));
  }

  /** `v1:<nonce>:<ciphertext+tag>`; the nonce is random unless given (tests). */
  encrypt(plaintext: string, nonce: Buffer = crypto.randomBytes(NONCE_BYTES)): string {
    if (nonce.length !== NONCE_BYTES) throw new Error("the nonce must be 12 bytes");
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, nonce);
    const sealed = Buffer.concat([
      cipher.update(plaintext, "utf8"),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
  }

  /** Throws when the value is malformed or was not encrypted with this key. */
  decrypt(ciphertext: string): string {
    const parts = ciphertext.split(":");
    if (parts.length !== 3) throw new Error("bad value");
    if (parts[0] !== "v1") throw new Error("unknown value version");
    const nonce = Buffer.from(parts[1], "base64");
    const sealed = Buffer.from(parts[2], "base64");
    if (nonce.length !== NONCE_BYTES) throw new Error("bad value: nonce size is incorrect");
    if (sealed.length < TAG_BYTES) throw new Error("bad value: too short");
    const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return plain.toString("utf8");
  }
}

const keyCache = new Map<string, Buffer>();

/** PBKDF2-HMAC-SHA256, 1,000,000 iterations (about half a second; cached per process). */
export function deriveKey(passphrase: string, salt: Buffer): Buffer {
  const id = `${salt.toString("hex")}:${crypto.createHash("sha256").update(passphrase).digest("hex")}`;
  let key = keyCache.get(id);
  if (!key) {
    key = crypto.pbkdf2Sync(passphrase, salt, PBKDF2_ITERATIONS, KEY_BYTES, "sha256");
    keyCache.set(id, key);
  }
  return key;
}

/** A new `encryptionsalt` for a stack and the crypter it stands for. */
export function newEncryptionSalt(
  passphrase: string,
  salt: Buffer = crypto.randomBytes(SALT_BYTES),
  nonce?: Buffer,
): { encryptionSalt: string; crypter: SymmetricCrypter } {
  if (salt.length !== SALT_BYTES) throw new Error("the salt must be 8 bytes");
  const crypter = SymmetricCrypter.fromPassphrase(passphrase, salt);
  const encryptionSalt = `v1:${salt.toString("base64")}:${crypter.encrypt(CHECK_TEXT, nonce)}`;
  return { encryptionSalt, crypter };
}

/**
 * The crypter of an existing `encryptionsalt`; throws PassphraseError when the passphrase is not
 * the one the salt was made with.
 */
export function crypterFromSalt(
  passphrase: string,
  encryptionSalt: string,
  describe: () => string,
): SymmetricCrypter {
  const parts = encryptionSalt.split(":");
  if (parts.length < 3 || parts[0] !== "v1") {
    throw new PassphraseError(`malformed encryptionsalt (expected v1:<salt>:<check value>)`);
  }
  const salt = Buffer.from(parts[1], "base64");
  const crypter = SymmetricCrypter.fromPassphrase(passphrase, salt);
  let check: string | undefined;
  try {
    check = crypter.decrypt(parts.slice(2).join(":"));
  } catch {
    check = undefined;
  }
  if (check !== CHECK_TEXT) throw new PassphraseError(`incorrect passphrase: ${describe()}`);
  return crypter;
}

export interface Passphrase {
  value: string;
  /** Where it came from, for messages: `PULUMI_CONFIG_PASSPHRASE`, a file path, ... */
  origin: string;
}

/**
 * The passphrase as the CLI finds it (an empty PULUMI_CONFIG_PASSPHRASE counts, as there), else
 * `<programDir>/.pulumi-state/passphrase`. When `create` is set and that file is missing or
 * empty, it is created as `npm run deploy` does: 32 random bytes, base64, mode 0600, in a 0700
 * directory. Returns undefined when there is none and `create` is not set.
 */
export function findPassphrase(
  programDir: string,
  create: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Passphrase | undefined {
  const direct = env[PASSPHRASE_ENV];
  if (direct !== undefined) return { value: direct, origin: PASSPHRASE_ENV };
  const named = env[PASSPHRASE_FILE_ENV];
  if (named) {
    const file = path.resolve(named);
    try {
      return {
        value: fs.readFileSync(file, "utf8").trim(),
        origin: `${PASSPHRASE_FILE_ENV}=${file}`,
      };
    } catch (e) {
      throw new PassphraseError(
        `unable to read ${PASSPHRASE_FILE_ENV} (${file}): ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
  }
  const file = path.join(programDir, DEFAULT_PASSPHRASE_FILE);
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "";
  if (existing !== "") return { value: existing, origin: file };
  if (!create) return undefined;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, crypto.randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { value: fs.readFileSync(file, "utf8").trim(), origin: file };
}
