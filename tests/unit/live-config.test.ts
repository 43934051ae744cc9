/**
 * The live harness's stack configuration (tools/live): the Pulumi CLI's passphrase secrets
 * provider (test vectors), `Pulumi.<stack>.yaml` as the CLI writes and reads it, and the
 * `config set|get|rm` and list operations. No Docker needed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { settingsFromStackConfig } from "../../components/stack-config";
import { loadConfig, StackSettings } from "../../tools/live/config";
import {
  crypterFromSalt,
  findPassphrase,
  newEncryptionSalt,
  PassphraseError,
  SymmetricCrypter,
} from "../../tools/live/passphrase";
import {
  parseConfigKey,
  parsePropertyPath,
  renderStackFile,
  yamlString,
} from "../../tools/live/stackfile";

const PROJECT = "postgres-replication";
const PASSPHRASE = "correct horse battery staple";
const SALT = Buffer.from("0102030405060708", "hex");
const SALT_NONCE = Buffer.from("0a0b0c0d0e0f101112131415", "hex");
const VALUE_NONCE = Buffer.from("161718191a1b1c1d1e1f2021", "hex");
/** What the Pulumi CLI writes for that passphrase and salt (and those nonces). */
const ENCRYPTION_SALT = "v1:AQIDBAUGBwg=:v1:CgsMDQ4PEBESExQV:SoKXiVtkUgcPjPtx2yrXH7pqXNd/KA==";
const SECURE_PW = "v1:FhcYGRobHB0eHyAh:fgPXaD9KbkdThkrSIKa/3m6TF/Baafoa6w==";

const env = { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };

const dirs: string[] = [];

/** A program directory with the project's Pulumi.yaml and, if given, a stack file. */
function programDir(stackFile?: string, stack = "dev"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "live-config-"));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\n`);
  if (stackFile !== undefined) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFile);
  return dir;
}

function stackText(dir: string, stack = "dev"): string {
  return fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");
}

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("passphrase secrets provider (pkg/secrets/passphrase, resource/config/crypt.go)", () => {
  test("encryptionsalt of the test vector", () => {
    expect(newEncryptionSalt(PASSPHRASE, SALT, SALT_NONCE).encryptionSalt).toBe(ENCRYPTION_SALT);
  });

  test("a value is the plain string (not JSON) under AES-256-GCM", () => {
    const crypter = SymmetricCrypter.fromPassphrase(PASSPHRASE, SALT);
    expect(crypter.encrypt("s3cr3t:pw", VALUE_NONCE)).toBe(SECURE_PW);
    expect(crypter.decrypt(SECURE_PW)).toBe("s3cr3t:pw");
  });

  test("the salt tells the right passphrase from a wrong one", () => {
    expect(crypterFromSalt(PASSPHRASE, ENCRYPTION_SALT, () => "").decrypt(SECURE_PW)).toBe(
      "s3cr3t:pw",
    );
    expect(() => crypterFromSalt("Tr0ub4dor&3", ENCRYPTION_SALT, () => "wrong one")).toThrow(
      new PassphraseError("incorrect passphrase: wrong one"),
    );
  });

  test("a tampered value does not decrypt", () => {
    const crypter = SymmetricCrypter.fromPassphrase(PASSPHRASE, SALT);
    const tampered = SECURE_PW.replace("fgPX", "fgPY");
    expect(() => crypter.decrypt(tampered)).toThrow();
    expect(() => crypter.decrypt("v2:abc:def")).toThrow(/unknown value version/);
  });

  test("passphrase: variable, then file variable (trimmed), then .pulumi-state/passphrase", () => {
    const dir = programDir();
    expect(findPassphrase(dir, false, { PULUMI_CONFIG_PASSPHRASE: "" })?.value).toBe("");
    const file = path.join(dir, "phrase");
    fs.writeFileSync(file, "  from a file \n");
    expect(findPassphrase(dir, false, { PULUMI_CONFIG_PASSPHRASE_FILE: file })?.value).toBe(
      "from a file",
    );
    expect(findPassphrase(dir, false, {})).toBeUndefined();
    const made = findPassphrase(dir, true, {});
    const own = path.join(dir, ".pulumi-state", "passphrase");
    expect(made?.origin).toBe(own);
    expect(Buffer.from(made?.value ?? "", "base64")).toHaveLength(32);
    expect(fs.statSync(own).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(own)).mode & 0o777).toBe(0o700);
    expect(findPassphrase(dir, true, {})?.value).toBe(made?.value);
  });
});

describe("Pulumi.<stack>.yaml as the CLI writes it", () => {
  test("config set: keys with the project prefix, strings quoted as yaml.v3 does", () => {
    const dir = programDir();
    // One command each, as with the CLI: the first creates the file, the others append.
    for (const [k, v] of [
      ["standbys", "2"],
      ["clusterName", "prt-unit"],
      ["image", "postgres-replication-test:15"],
      ["aws:region", "eu-west-1"],
      ["bindAddress", "true"],
    ]) {
      const s = new StackSettings(dir, PROJECT, "dev", env);
      s.set(k, v);
      s.save();
    }
    expect(stackText(dir)).toBe(
      [
        "config:",
        '  postgres-replication:standbys: "2"',
        "  postgres-replication:clusterName: prt-unit",
        "  postgres-replication:image: postgres-replication-test:15",
        "  aws:region: eu-west-1",
        '  postgres-replication:bindAddress: "true"',
        "",
      ].join("\n"),
    );
  });

  test("a new file written whole sorts the keys, salt first (ProjectStack field order)", () => {
    expect(
      renderStackFile({
        encryptionSalt: ENCRYPTION_SALT,
        config: { "p:b": "1", "p:a10": "x", "p:a9": { secure: SECURE_PW } },
        other: {},
      }),
    ).toBe(
      [
        `encryptionsalt: ${ENCRYPTION_SALT}`,
        "config:",
        "  p:a9:",
        `    secure: ${SECURE_PW}`,
        "  p:a10: x",
        '  p:b: "1"',
        "",
      ].join("\n"),
    );
  });

  test("--secret: `secure:` under the key, encryptionsalt added, value round-trips", () => {
    const dir = programDir();
    const s = new StackSettings(dir, PROJECT, "dev", env);
    s.set("superuserPassword", "s3cr3t:pw", { secret: true });
    s.save();
    const text = stackText(dir);
    expect(text).toMatch(
      /^encryptionsalt: v1:[A-Za-z0-9+/=]{12}:v1:[A-Za-z0-9+/=]{16}:[A-Za-z0-9+/=]+\nconfig:\n {2}postgres-replication:superuserPassword:\n {4}secure: v1:[A-Za-z0-9+/=]{16}:[A-Za-z0-9+/=]+\n$/,
    );
    expect(text).not.toContain("s3cr3t");
    const again = new StackSettings(dir, PROJECT, "dev", env);
    expect(again.get("superuserPassword")).toMatchObject({ text: "s3cr3t:pw", secret: true });
    expect(again.list(false)).toEqual([
      expect.objectContaining({ key: "postgres-replication:superuserPassword", text: "[secret]" }),
    ]);
    expect(again.list(true)[0].text).toBe("s3cr3t:pw");
  });

  test("a file the CLI wrote (vector) is read: secure values decrypted for the program", () => {
    const dir = programDir(
      [
        `encryptionsalt: ${ENCRYPTION_SALT}`,
        "config:",
        '  postgres-replication:standbys: "2"',
        "  postgres-replication:superuserPassword:",
        `    secure: ${SECURE_PW}`,
        "  postgres-replication:parameters:",
        "    work_mem: 16MB",
        "    max_connections: 200",
        "    jit: false",
        "",
      ].join("\n"),
    );
    const { config, secretKeys } = loadConfig(dir, PROJECT, "dev", [], [], env);
    expect(config).toEqual({
      "postgres-replication:standbys": "2",
      "postgres-replication:superuserPassword": "s3cr3t:pw",
      "postgres-replication:parameters": '{"jit":false,"max_connections":200,"work_mem":"16MB"}',
    });
    expect(secretKeys).toEqual(["postgres-replication:superuserPassword"]);
  });

  test("a wrong or missing passphrase is one clear error", () => {
    const dir = programDir(
      `encryptionsalt: ${ENCRYPTION_SALT}\nconfig:\n  postgres-replication:x:\n    secure: ${SECURE_PW}\n`,
    );
    expect(() =>
      loadConfig(dir, PROJECT, "dev", [], [], { PULUMI_CONFIG_PASSPHRASE: "no" }),
    ).toThrow(
      /^incorrect passphrase: the passphrase from PULUMI_CONFIG_PASSPHRASE does not decrypt Pulumi\.dev\.yaml .*set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/,
    );
    expect(() => loadConfig(dir, PROJECT, "dev", [], [], {})).toThrow(
      /Pulumi\.dev\.yaml holds secrets encrypted with a passphrase and none is set: set PULUMI_CONFIG_PASSPHRASE/,
    );
    // Reading plain values needs no passphrase.
    expect(new StackSettings(dir, PROJECT, "dev", {}).list(false)[0].text).toBe("[secret]");
  });

  test("--path parameters.work_mem: a structured value the program parses", () => {
    const dir = programDir();
    for (const [k, v] of [
      ["parameters.work_mem", "16MB"],
      ["parameters.max_connections", "200"],
      ["parameters.jit", "false"],
    ]) {
      const each = new StackSettings(dir, PROJECT, "dev", env);
      each.set(k, v, { path: true });
      each.save();
    }
    const s = new StackSettings(dir, PROJECT, "dev", env);
    expect(stackText(dir)).toBe(
      [
        "config:",
        "  postgres-replication:parameters:",
        "    work_mem: 16MB",
        "    max_connections: 200",
        "    jit: false",
        "",
      ].join("\n"),
    );
    const { config } = loadConfig(dir, PROJECT, "dev", [], [], env);
    const text = config["postgres-replication:parameters"];
    expect(text).toBe('{"jit":false,"max_connections":200,"work_mem":"16MB"}');
    const settings = settingsFromStackConfig((k) => config[`${PROJECT}:${k}`], ["parameters"]);
    expect(settings.parameters).toEqual({ work_mem: "16MB", max_connections: 200, jit: false });
    expect(s.get("parameters.work_mem", { path: true })?.text).toBe("16MB");
    expect(s.get("parameters")?.text).toBe(text);
    s.remove("parameters.jit", { path: true });
    s.save();
    expect(stackText(dir)).not.toContain("jit");
    expect(new StackSettings(dir, PROJECT, "dev", env).get("parameters")?.text).toBe(
      '{"max_connections":200,"work_mem":"16MB"}',
    );
  });

  test("editing keeps comments, order and untouched lines; new keys go to the end", () => {
    const committed = fs.readFileSync(path.join(__dirname, "../../Pulumi.dev.yaml"), "utf8");
    const dir = programDir(committed);
    const s = new StackSettings(dir, PROJECT, "dev", env);
    s.set("standbys", "3");
    s.set("synchronousStandbys", "1");
    s.remove("bindAddress");
    s.save();
    const before = committed.split("\n");
    const after = stackText(dir).split("\n");
    expect(after.filter((l) => l.startsWith("#"))).toEqual(before.filter((l) => l.startsWith("#")));
    expect(after).toContain('  postgres-replication:standbys: "3"');
    expect(after.indexOf('  postgres-replication:standbys: "3"')).toBe(
      before.indexOf('  postgres-replication:standbys: "1"'),
    );
    expect(after.filter((l) => l.includes("bindAddress"))).toEqual([]);
    expect(after[after.length - 2]).toBe('  postgres-replication:synchronousStandbys: "1"');
    const untouched = before.filter((l) => !/standbys|bindAddress/.test(l));
    expect(after.filter((l) => !/standbys|Standbys|bindAddress/.test(l))).toEqual(untouched);
  });

  test("get of a missing key is undefined, rm of one is no error; the file keeps the rest", () => {
    const dir = programDir('config:\n  postgres-replication:standbys: "1"\n');
    const s = new StackSettings(dir, PROJECT, "dev", env);
    expect(s.get("primary")).toBeUndefined();
    s.remove("primary");
    s.remove("standbys");
    s.save();
    expect(stackText(dir)).toBe("{}\n");
    expect(new StackSettings(dir, PROJECT, "dev", env).list(true)).toEqual([]);
  });

  test("overrides and --secret values still apply on top of the file", () => {
    const dir = programDir('config:\n  postgres-replication:standbys: "1"\n');
    expect(loadConfig(dir, PROJECT, "dev", ["standbys=2"], ["superuserPassword=pw1"], env)).toEqual(
      {
        config: {
          "postgres-replication:standbys": "2",
          "postgres-replication:superuserPassword": "pw1",
        },
        secretKeys: ["postgres-replication:superuserPassword"],
      },
    );
  });
});

describe("keys, paths and scalars as the CLI parses and writes them", () => {
  test("keys without a namespace get the project's; `ns:config:name` is the old form", () => {
    expect(parseConfigKey(PROJECT, "standbys")).toBe("postgres-replication:standbys");
    expect(parseConfigKey(PROJECT, "aws:region")).toBe("aws:region");
    expect(parseConfigKey(PROJECT, "aws:config:region")).toBe("aws:region");
    expect(parseConfigKey(PROJECT, "parameters.work_mem", true)).toBe(
      "postgres-replication:parameters.work_mem",
    );
    expect(() => parseConfigKey(PROJECT, "a:b:c")).toThrow(/<namespace>:<name>/);
  });

  test("property paths", () => {
    expect(parsePropertyPath("parameters.work_mem")).toEqual(["parameters", "work_mem"]);
    expect(parsePropertyPath('a["b.c"][2].d')).toEqual(["a", "b.c", 2, "d"]);
    expect(() => parsePropertyPath("a.")).toThrow(/end with a name or index/);
    expect(() => parsePropertyPath("a[x]")).toThrow(/invalid array index/);
  });

  test("scalars: plain, double-quoted when YAML would read another type, single when special", () => {
    expect(yamlString("16MB")).toBe("16MB");
    expect(yamlString("postgres:15")).toBe("postgres:15");
    expect(yamlString("5000")).toBe('"5000"');
    expect(yamlString("true")).toBe('"true"');
    expect(yamlString("yes")).toBe('"yes"');
    expect(yamlString("1.5")).toBe('"1.5"');
    expect(yamlString("")).toBe('""');
    expect(yamlString("a: b")).toBe("'a: b'");
    expect(yamlString("*star")).toBe("'*star'");
    expect(yamlString("two\nlines")).toBe('"two\\nlines"');
  });
});
