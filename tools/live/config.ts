/**
 * Project and stack configuration, read and written as the Pulumi CLI does: `Pulumi.yaml`, and
 * `Pulumi.<stack>.yaml` with the passphrase secrets provider (./passphrase.ts, ./stackfile.ts).
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import {
  crypterFromSalt,
  DEFAULT_PASSPHRASE_FILE,
  findPassphrase,
  newEncryptionSalt,
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  PassphraseError,
  SymmetricCrypter,
} from "./passphrase";
import {
  coerceLeaf,
  ConfigError,
  containsSecure,
  deleteAtPath,
  getAtPath,
  isSecure,
  mapSecure,
  parseConfigKey,
  prettyKey,
  readStackFile,
  setAtPath,
  splitKeyPath,
  StackFile,
  valueText,
  writeStackFile,
} from "./stackfile";
import { isObject, Json } from "./types";

export interface Project {
  name: string;
  main?: string;
}

export function readProject(dir: string): Project {
  const file = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: run this in the project's directory or pass --program DIR`);
  }
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  if (!isObject(doc) || typeof doc.name !== "string") throw new Error(`${file}: no project name`);
  return { name: doc.name, main: typeof doc.main === "string" ? doc.main : undefined };
}

export function stackFilePath(dir: string, stack: string): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** One value as `config get` / the program sees it. */
export interface ConfigEntry {
  /** Full key, `<namespace>:<name>`. */
  key: string;
  text: string;
  secret: boolean;
  /** A structured value (map or list), whose text is JSON. */
  object: boolean;
  /** For `--json`: the structured value, secure leaves revealed or blinded. */
  objectValue?: Json;
}

const BLIND = "[secret]";

/**
 * A stack's configuration file with its secrets: decrypts and encrypts with the stack's
 * passphrase, asked for only when a secure value is read or written.
 */
export class StackSettings {
  readonly file: StackFile;
  private crypter_: SymmetricCrypter | undefined;

  constructor(
    readonly programDir: string,
    readonly project: string,
    readonly stack: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.file = readStackFile(stackFilePath(programDir, stack));
  }

  get fileName(): string {
    return path.basename(this.file.path);
  }

  /** Full key of a key as typed (no namespace: the project's). */
  fullKey(key: string, usePath = false): string {
    return parseConfigKey(this.project, key, usePath);
  }

  /** Full keys of the stored values (a key without a namespace counts as the project's). */
  private stored(): [string, Json][] {
    return Object.entries(this.file.config).map(([k, v]) => [
      k.includes(":") ? k : `${this.project}:${k}`,
      v,
    ]);
  }

  private storedKey(full: string): string | undefined {
    if (full in this.file.config) return full;
    const short = prettyKey(this.project, full);
    return short !== full && short in this.file.config ? short : undefined;
  }

  /** The crypter; with `create`, a stack without an encryptionsalt gets one. */
  crypter(create: boolean): SymmetricCrypter {
    if (this.crypter_) return this.crypter_;
    const salt = this.file.encryptionSalt;
    const hint =
      `set ${PASSPHRASE_ENV} or ${PASSPHRASE_FILE_ENV} to the passphrase of this stack ` +
      `(npm run deploy keeps it in ${DEFAULT_PASSPHRASE_FILE})`;
    if (salt) {
      const phrase = findPassphrase(this.programDir, false, this.env);
      if (!phrase) {
        throw new PassphraseError(
          `${this.fileName} holds secrets encrypted with a passphrase and none is set: ${hint}`,
        );
      }
      this.crypter_ = crypterFromSalt(
        phrase.value,
        salt,
        () =>
          `the passphrase from ${phrase.origin} does not decrypt ${this.fileName} ` +
          `(its encryptionsalt was made with another one): ${hint}`,
      );
      return this.crypter_;
    }
    if (!create) {
      throw new PassphraseError(
        `${this.fileName} holds secure values but no encryptionsalt, so they cannot be ` +
          `decrypted; set them again with \`config set --secret\``,
      );
    }
    const phrase = findPassphrase(this.programDir, true, this.env) as { value: string };
    const made = newEncryptionSalt(phrase.value);
    this.file.encryptionSalt = made.encryptionSalt;
    this.crypter_ = made.crypter;
    return this.crypter_;
  }

  private reveal = (ciphertext: string): string => {
    try {
      return this.crypter(false).decrypt(ciphertext);
    } catch (e) {
      if (e instanceof PassphraseError) throw e;
      throw new PassphraseError(
        `${this.fileName}: a secure value does not decrypt with this stack's passphrase ` +
          `(${e instanceof Error ? e.message : String(e)}); set it again with \`config set --secret\``,
      );
    }
  };

  private entry(key: string, v: Json, showSecrets: boolean): ConfigEntry {
    const secret = containsSecure(v);
    const reveal = showSecrets ? this.reveal : () => BLIND;
    const object = !isSecure(v) && (isObject(v) || Array.isArray(v));
    return {
      key,
      text: valueText(v, reveal),
      secret,
      object,
      ...(object ? { objectValue: mapSecure(v, reveal) } : {}),
    };
  }

  /** `config set [--secret] [--path] KEY VALUE`. */
  set(key: string, value: string, opts: { secret?: boolean; path?: boolean } = {}): string {
    const full = this.fullKey(key, opts.path);
    const leaf: Json = opts.secret ? { secure: this.crypter(true).encrypt(value) } : value;
    if (!opts.path) {
      this.put(full, leaf);
      return full;
    }
    const { key: top, path: below } = splitKeyPath(full);
    if (below.length === 0) {
      this.put(top, leaf);
      return full;
    }
    const at = this.storedKey(top);
    const root = at === undefined ? undefined : this.file.config[at];
    const newLeaf = opts.secret ? leaf : coerceLeaf(value);
    this.put(top, setAtPath(root, below, newLeaf));
    return full;
  }

  private put(full: string, v: Json): void {
    const at = this.storedKey(full) ?? full;
    this.file.config[at] = v;
  }

  /** `config get [--path] KEY`: undefined when not set. */
  get(key: string, opts: { path?: boolean } = {}): ConfigEntry | undefined {
    const full = this.fullKey(key, opts.path);
    if (!opts.path) {
      const at = this.storedKey(full);
      return at === undefined ? undefined : this.entry(full, this.file.config[at], true);
    }
    const { key: top, path: below } = splitKeyPath(full);
    const at = this.storedKey(top);
    if (at === undefined) return undefined;
    const v = getAtPath(this.file.config[at], below);
    return v === undefined ? undefined : this.entry(full, v, true);
  }

  /** `config rm [--path] KEY` (a key that is not set is no error, as in the CLI). */
  remove(key: string, opts: { path?: boolean } = {}): string {
    const full = this.fullKey(key, opts.path);
    if (!opts.path) {
      const at = this.storedKey(full);
      if (at !== undefined) delete this.file.config[at];
      return full;
    }
    const { key: top, path: below } = splitKeyPath(full);
    const at = this.storedKey(top);
    if (at === undefined) return full;
    if (below.length === 0) delete this.file.config[at];
    else this.file.config[at] = deleteAtPath(this.file.config[at], below);
    return full;
  }

  /** `config`: every value, sorted by namespace then name, secrets blinded unless shown. */
  list(showSecrets: boolean): ConfigEntry[] {
    return this.stored()
      .sort(([a], [b]) => {
        const [na, nb] = [a.slice(0, a.indexOf(":")), b.slice(0, b.indexOf(":"))];
        if (na !== nb) return na < nb ? -1 : 1;
        return a < b ? -1 : a > b ? 1 : 0;
      })
      .map(([k, v]) => this.entry(k, v, showSecrets));
  }

  /** The configuration the program gets: full key -> text, and the keys that are secret. */
  programConfig(): { config: Record<string, string>; secretKeys: string[] } {
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of this.stored()) {
      config[k] = valueText(v, this.reveal);
      if (containsSecure(v)) secretKeys.push(k);
    }
    return { config, secretKeys };
  }

  save(): void {
    writeStackFile(this.file);
  }
}

export interface StackConfig {
  config: Record<string, string>;
  secretKeys: string[];
}

function splitAssignment(arg: string): [string, string] {
  const i = arg.indexOf("=");
  if (i <= 0) throw new ConfigError(`expected key=value, got "${arg.split("=")[0]}"`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}

/**
 * Stack file values (secure ones decrypted with the stack's passphrase), then `key=value`
 * overrides, then `--secret key=value` values.
 */
export function loadConfig(
  dir: string,
  project: string,
  stack: string,
  overrides: string[],
  secrets: string[],
  env: NodeJS.ProcessEnv = process.env,
): StackConfig {
  const settings = new StackSettings(dir, project, stack, env);
  const { config, secretKeys: fromFile } = settings.programConfig();
  const secretKeys = new Set(fromFile);
  for (const a of overrides) {
    const [k, v] = splitAssignment(a);
    const full = parseConfigKey(project, k);
    config[full] = v;
    secretKeys.delete(full);
  }
  for (const a of secrets) {
    const [k, v] = splitAssignment(a);
    const full = parseConfigKey(project, k);
    config[full] = v;
    secretKeys.add(full);
  }
  return { config, secretKeys: [...secretKeys].sort() };
}
