/**
 * The live harness with the Pulumi CLI's verbs, as a walkthrough would use them, on a real small
 * cluster of the real program: `config set` (a secret among them) into Pulumi.<stack>.yaml, `up`
 * with its preview, `stack output` with psql, scaling up by config, a bare `up` that changes
 * nothing, an `up` that would delete refused without a terminal or --yes, and `destroy` leaving
 * nothing behind. Without Docker: skipped with the reason, or failed under CI=true.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker, pgTool, run, RunResult, testImage } from "../support/docker";
import { CLUSTER_LABEL, eventually, labelledObjects, removeLeftovers } from "./support/cluster";
import { liveSuiteGate, sqlIn, timed } from "./support/faults";

const { describeLive, unavailable } = liveSuiteGate("the live harness CLI test");

const REPO = path.resolve(__dirname, "../..");
const CLI = path.join(REPO, "tools", "live", "cli.ts");
const CLUSTER = "prt-cli";
const HOST_PORT = 15960;
const STACK = `prt-cli-${randomBytes(4).toString("hex")}`;
const STACK_FILE = path.join(REPO, `Pulumi.${STACK}.yaml`);
const STATE_DIR = path.join(REPO, ".live-state");
const SUPERUSER = "postgresadmin";

describeLive("the harness takes the Pulumi CLI's verbs (real program, real Docker)", () => {
  // Fresh every run: its appearance anywhere can only come from this test.
  const password = `CliPw${randomBytes(10).toString("hex")}`;
  const passphrase = `cli test ${randomBytes(8).toString("hex")}`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-cli-"));
  const outputsFile = path.join(workDir, "outputs.json");
  let started = 0;

  jest.setTimeout(4 * 60 * 1000);

  /** `npm run live -- <args>` for this stack; stdin is a pipe (not a terminal). */
  function live(args: string[], opts: { allowFailure?: boolean } = {}): Promise<RunResult> {
    return run(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", CLI, ...args, "--stack", STACK],
      {
        env: { PULUMI_CONFIG_PASSPHRASE: passphrase },
        timeoutMs: 180_000,
        allowFailure: opts.allowFailure,
      },
    );
  }

  function actions(): Record<string, string> {
    return (JSON.parse(fs.readFileSync(outputsFile, "utf8")) as { actions: Record<string, string> })
      .actions;
  }

  function stackFiles(): string[] {
    return fs.existsSync(STATE_DIR)
      ? fs.readdirSync(STATE_DIR).filter((f) => f.startsWith(`${STACK}.`))
      : [];
  }

  /** `<name> <id>` of the cluster's instance containers. */
  async function containers(): Promise<string[]> {
    const { stdout } = await docker([
      "ps",
      "-a",
      "--filter",
      `label=${CLUSTER_LABEL}=${CLUSTER}`,
      "--format",
      "{{.Names}} {{.ID}}",
    ]);
    return stdout
      .split("\n")
      .filter((l) => new RegExp(`^${CLUSTER}-\\d+ `).test(l))
      .sort();
  }

  beforeAll(async () => {
    if (unavailable) throw new Error(`the harness CLI test cannot run under CI: ${unavailable}`);
    started = Date.now();
    await removeLeftovers(CLUSTER);
  });

  afterAll(async () => {
    try {
      if (stackFiles().includes(`${STACK}.json`))
        await live(["destroy", "--yes"], { allowFailure: true });
    } finally {
      await removeLeftovers(CLUSTER);
      fs.rmSync(STACK_FILE, { force: true });
      for (const f of stackFiles()) fs.rmSync(path.join(STATE_DIR, f), { force: true });
      fs.rmSync(workDir, { recursive: true, force: true });
      if (started) timed("whole suite", started, "harness-cli");
    }
  });

  it("config set writes Pulumi.<stack>.yaml as the CLI does, the secret encrypted", async () => {
    await live(["config", "set", "clusterName", CLUSTER]);
    await live(["config", "set", "hostPort", String(HOST_PORT)]);
    await live(["config", "set", "endpointPort", String(HOST_PORT + 16)]);
    await live(["config", "set", "image", testImage()]);
    await live(["config", "set", "standbys", "1"]);
    await live(["config", "set", "--secret", "superuserPassword", password]);
    const text = fs.readFileSync(STACK_FILE, "utf8");
    expect(text).toContain(`config:\n  postgres-replication:clusterName: ${CLUSTER}\n`);
    expect(text).toContain(`  postgres-replication:hostPort: "${HOST_PORT}"\n`);
    expect(text).toMatch(/ {2}postgres-replication:superuserPassword:\n {4}secure: v1:\S+\n/);
    expect(text).toMatch(/\nencryptionsalt: v1:\S+\n$/);
    expect(text).not.toContain(password);
    expect((await live(["config", "get", "superuserPassword"])).stdout).toBe(`${password}\n`);
  });

  it("up --yes previews, then creates the cluster from the stack file (secret decrypted)", async () => {
    const t0 = Date.now();
    const r = await live(["up", "--yes", "--outputs-json", outputsFile]);
    timed("first up", t0, "harness-cli");
    expect(r.stdout).toMatch(/Previewing update \(prt-cli-[0-9a-f]+\):\n/);
    expect(r.stdout).toMatch(/^ {2}\+ {3}create {7}Container {10}prt-cli-2$/m);
    expect(r.stdout).toMatch(
      /^Plan: \d+ to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged$/m,
    );
    expect(new Set(Object.values(actions()))).toEqual(new Set(["create"]));
    expect(r.stdout + r.stderr).not.toContain(password);
  });

  it("stack output --show-secrets connectionString works with psql", async () => {
    expect((await live(["stack", "output", "connectionString"])).stdout).toBe("[secret]\n");
    const uri = (
      await live(["stack", "output", "--show-secrets", "connectionString"])
    ).stdout.trim();
    expect(uri).toBe(`postgresql://${SUPERUSER}:${password}@127.0.0.1:${HOST_PORT}/postgresdb`);
    const q = await run(pgTool("psql"), [uri, "-X", "-A", "-t", "-c", "select current_user"], {
      env: { PGCONNECT_TIMEOUT: "5", PGSSLMODE: "disable" },
    });
    expect(q.stdout.trim()).toBe(SUPERUSER);
    const table = (await live(["stack", "output"])).stdout;
    expect(table).toMatch(/^Current stack outputs \(\d+\):\n {4}OUTPUT +VALUE\n/);
    expect(table).toMatch(new RegExp(`^ {4}primary +${CLUSTER}-1$`, "m"));
  });

  it("config set standbys 2 + up --yes adds exactly one standby", async () => {
    const before = await containers();
    await live(["config", "set", "standbys", "2"]);
    const r = await live(["up", "--yes", "--outputs-json", outputsFile]);
    expect(r.stdout).toMatch(/^Plan: \d+ to create, \d+ to update, \d+ to replace, 0 to delete,/m);
    const done = actions();
    const created = Object.keys(done).filter((k) => done[k] === "create");
    // Instance 3's container, volumes and commands; nothing of instances 1 and 2 is replaced
    // or deleted.
    expect(created).toEqual(expect.arrayContaining([`${CLUSTER}-3`, `${CLUSTER}-3-data`]));
    expect(created.filter((k) => !k.startsWith(`${CLUSTER}-3`))).toEqual([]);
    const existing = new RegExp(`^${CLUSTER}-[12](-|$)`);
    expect(
      Object.entries(done).filter(
        ([k, a]) => existing.test(k) && (a === "replace" || a === "delete"),
      ),
    ).toEqual([]);
    const after = await containers();
    expect(after.filter((c) => !before.includes(c)).map((c) => c.split(" ")[0])).toEqual([
      `${CLUSTER}-3`,
    ]);
    expect(after).toEqual(expect.arrayContaining(before));
    await eventually(
      async () =>
        (await sqlIn(
          `${CLUSTER}-1`,
          SUPERUSER,
          "select count(*) from pg_stat_replication where state = 'streaming'",
        )) === "2",
      "the primary does not stream to two standbys",
    );
  });

  it("a bare up --yes afterwards shows only unchanged", async () => {
    const r = await live(["up", "--yes", "--outputs-json", outputsFile]);
    expect(r.stdout).toMatch(
      /^Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, \d+ unchanged$/m,
    );
    expect(new Set(Object.values(actions()))).toEqual(new Set(["same"]));
    expect(r.stdout).toMatch(
      /^Resources: 0 created, \d+ unchanged, 0 updated, 0 replaced, 0 deleted/m,
    );
  });

  it("up without --yes, stdin not a terminal, refuses what would delete and changes nothing", async () => {
    await live(["config", "set", "standbys", "1"]);
    const state = fs.readFileSync(path.join(STATE_DIR, `${STACK}.json`), "utf8");
    const before = await containers();
    const r = await live(["up"], { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/^ {2}- {3}delete {7}Container {10}prt-cli-3$/m);
    expect(r.stderr).toMatch(
      /^error: this update would delete or replace \d+ Docker object\(s\) that may hold data: /,
    );
    for (const o of ["Container prt-cli-3", "Volume prt-cli-3-data", "Volume prt-cli-3-config"]) {
      expect(r.stderr).toContain(`${o} (deleted)`);
    }
    expect(r.stderr).toContain(`Run \`npm run live -- up --yes --stack ${STACK}\` to go ahead.`);
    expect(r.stdout).not.toContain("Updating (");
    expect(await containers()).toEqual(before);
    expect(fs.readFileSync(path.join(STATE_DIR, `${STACK}.json`), "utf8")).toBe(state);
  });

  it("destroy --yes leaves no Docker object of the cluster and no harness file of the stack", async () => {
    const t0 = Date.now();
    await live(["destroy", "--yes"]);
    timed("destroy", t0, "harness-cli");
    expect(await labelledObjects(CLUSTER)).toEqual([]);
    expect(stackFiles()).toEqual([]);
    expect(fs.existsSync(STACK_FILE)).toBe(true);
  });
});
