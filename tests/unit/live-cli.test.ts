/**
 * The live harness's command line (tools/live/cli.ts): the Pulumi CLI's verbs and flags, their
 * messages, `config` verbs and `stack output` as processes, and what `destroy` leaves behind.
 * No Docker needed (no resource is created).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs, UsageError } from "../../tools/live/args";
import { StateStore } from "../../tools/live/state";

const REPO = path.join(__dirname, "..", "..");
const CLI = path.join(REPO, "tools", "live", "cli.ts");
const PROJECT = "postgres-replication";
const PASSPHRASE = "unit-test passphrase";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Each process loads ts-node and the harness (about 2 s).
jest.setTimeout(120_000);

const dirs: string[] = [];

function programDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "live-cli-"));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\n`);
  return dir;
}

/** `npm run live -- <args>` (stdin is not a terminal; it gets `input`). */
function live(dir: string, args: string[], input = "", env: Record<string, string> = {}): Result {
  const r = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", CLI, ...args, "--program", dir],
    {
      cwd: REPO,
      input,
      encoding: "utf8",
      env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, ...env },
      timeout: 60_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function usageError(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

describe("arguments as the Pulumi CLI takes them", () => {
  test("verbs, subverbs, flags before or after arguments, --flag=value", () => {
    expect(
      parseArgs(["config", "set", "--secret", "superuserPassword", "pw", "-s", "x"]),
    ).toMatchObject({
      verb: "config set",
      secret: true,
      stack: "x",
      positional: ["superuserPassword", "pw"],
    });
    expect(parseArgs(["config", "set", "image", "postgres:15", "--stack", "dev"])).toMatchObject({
      verb: "config set",
      positional: ["image", "postgres:15"],
    });
    expect(parseArgs(["config", "set", "--path", "parameters.work_mem", "16MB"])).toMatchObject({
      path: true,
      positional: ["parameters.work_mem", "16MB"],
    });
    expect(parseArgs(["config"])).toMatchObject({ verb: "config", stack: "dev" });
    expect(parseArgs(["config", "--show-secrets"])).toMatchObject({
      verb: "config",
      showSecrets: true,
    });
    expect(parseArgs(["stack", "output", "--show-secrets", "connectionString"])).toMatchObject({
      verb: "stack output",
      showSecrets: true,
      positional: ["connectionString"],
    });
    expect(parseArgs(["up", "--yes", "--refresh", "--stack=s1"])).toMatchObject({
      verb: "up",
      yes: true,
      refresh: true,
      stack: "s1",
    });
    expect(parseArgs(["update", "-y"])).toMatchObject({ verb: "up", yes: true });
  });

  test("the harness's own forms still work: key=value, --secret key=value, --state-dir", () => {
    expect(
      parseArgs([
        "up",
        "--state-dir",
        "/tmp/s",
        "--outputs-json",
        "/tmp/o.json",
        "standbys=2",
        "--secret",
        "superuserPassword=pw",
      ]),
    ).toMatchObject({
      stateDir: "/tmp/s",
      outputsJson: "/tmp/o.json",
      overrides: ["standbys=2"],
      secrets: ["superuserPassword=pw"],
      secret: false,
    });
  });

  test("an unknown verb or flag names the valid ones", () => {
    expect(usageError(["deploy"])).toBe(
      'unknown command "deploy"; valid commands: config, config set, config get, config rm, ' +
        "stack output, preview, up, refresh, destroy",
    );
    expect(usageError(["up", "--force"])).toMatch(
      /^unknown flag --force for `npm run live -- up`; valid flags: --yes\|-y, --refresh\|-r, --skip-preview, .*--stack\|-s NAME, --program\|-C\|--cwd DIR, --state-dir DIR$/,
    );
    expect(usageError(["config", "set", "--yes", "a", "b"])).toMatch(
      /^unknown flag --yes for `npm run live -- config set`; valid flags: --secret, --plaintext, --path, /,
    );
    expect(usageError(["config", "frob"])).toMatch(/^unknown command "config frob"; valid: config/);
    expect(usageError(["stack", "ls"])).toMatch(/stack output only/);
    expect(usageError(["config", "get"])).toMatch(/takes 1 argument\(s\), got 0/);
    expect(usageError(["up", "--stack"])).toBe("--stack needs a value (--stack NAME)");
  });
});

describe("config verbs and stack output, as processes", () => {
  test("config set / get / list / rm round trip through Pulumi.<stack>.yaml", () => {
    const dir = programDir();
    expect(live(dir, ["config", "set", "standbys", "2", "--stack", "s1"])).toMatchObject({
      code: 0,
      stdout: "",
    });
    expect(
      live(dir, ["config", "set", "--secret", "superuserPassword", "--stack", "s1"], "pw 1\n"),
    ).toMatchObject({ code: 0 });
    expect(
      live(dir, ["config", "set", "--path", "parameters.work_mem", "16MB", "-s", "s1"]).code,
    ).toBe(0);
    const text = fs.readFileSync(path.join(dir, "Pulumi.s1.yaml"), "utf8");
    expect(text).toContain('  postgres-replication:standbys: "2"\n');
    expect(text).toContain("  postgres-replication:parameters:\n    work_mem: 16MB\n");
    expect(text).toMatch(/ {2}postgres-replication:superuserPassword:\n {4}secure: v1:/);
    expect(text).not.toContain("pw 1");

    expect(live(dir, ["config", "get", "superuserPassword", "--stack", "s1"]).stdout).toBe(
      "pw 1\n",
    );
    expect(live(dir, ["config", "-s", "s1"]).stdout).toBe(
      "KEY                VALUE\n" +
        'parameters         {"work_mem":"16MB"}\n' +
        "standbys           2\n" +
        "superuserPassword  [secret]\n",
    );
    expect(live(dir, ["config", "--show-secrets", "-s", "s1"]).stdout).toContain(
      "superuserPassword  pw 1\n",
    );
    expect(live(dir, ["config", "rm", "standbys", "-s", "s1"]).code).toBe(0);
    const missing = live(dir, ["config", "get", "standbys", "-s", "s1"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "error: configuration key 'standbys' not found for stack 's1' (Pulumi.s1.yaml); " +
        `set it with \`npm run live -- config set standbys VALUE --stack s1 --program ${dir}\`\n`,
    );
    const wrong = live(dir, ["config", "get", "superuserPassword", "-s", "s1"], "", {
      PULUMI_CONFIG_PASSPHRASE: "not it",
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^error: incorrect passphrase: .*PULUMI_CONFIG_PASSPHRASE_FILE/),
    ]);
  });

  test("stack output: the CLI's table, --json, one value, secrets only with --show-secrets", () => {
    const dir = programDir();
    const stateDir = path.join(dir, "state");
    const store = new StateStore(stateDir, "s2");
    const state = store.load(PROJECT);
    state.stackOutputs = {
      primary: "prt-1",
      instances: [{ role: "primary", name: "prt-1", hostPort: 5000 }],
      connectionString: "postgresql://u:pw@127.0.0.1:5000/db",
    };
    state.stackSecretOutputs = ["connectionString"];
    store.save(state);
    expect(fs.readFileSync(store.file, "utf8")).not.toContain("pw@");
    const args = ["--stack", "s2", "--state-dir", stateDir];
    expect(live(dir, ["stack", "output", ...args]).stdout).toBe(
      "Current stack outputs (3):\n" +
        "    OUTPUT            VALUE\n" +
        "    connectionString  [secret]\n" +
        '    instances         [{"hostPort":5000,"name":"prt-1","role":"primary"}]\n' +
        "    primary           prt-1\n",
    );
    expect(live(dir, ["stack", "output", "connectionString", ...args]).stdout).toBe("[secret]\n");
    expect(
      live(dir, ["stack", "output", "--show-secrets", "connectionString", ...args]).stdout,
    ).toBe("postgresql://u:pw@127.0.0.1:5000/db\n");
    expect(JSON.parse(live(dir, ["stack", "output", "--json", ...args]).stdout)).toEqual({
      connectionString: "[secret]",
      instances: [{ hostPort: 5000, name: "prt-1", role: "primary" }],
      primary: "prt-1",
    });
    const none = live(dir, ["stack", "output", "nope", ...args]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/current stack does not have output property 'nope'/);
  });

  test("destroy --yes of a stack leaves none of its harness files; the stack file stays", () => {
    const dir = programDir();
    expect(live(dir, ["config", "set", "standbys", "1", "-s", "s3"]).code).toBe(0);
    const stateDir = path.join(dir, ".live-state");
    const store = new StateStore(stateDir, "s3");
    const state = store.load(PROJECT);
    state.stackOutputs = { token: "t0ps3cret" };
    state.stackSecretOutputs = ["token"];
    store.save(state);
    fs.writeFileSync(`${store.file}.tmp-1`, "");
    expect(fs.readdirSync(stateDir).sort()).toEqual(["s3.json", "s3.json.tmp-1", "s3.key"]);
    const r = live(dir, ["destroy", "--yes", "-s", "s3"]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(stateDir)).toBe(false);
    expect(fs.existsSync(path.join(dir, "Pulumi.s3.yaml"))).toBe(true);
  });
});
