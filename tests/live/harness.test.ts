/**
 * Tests of the live harness (tools/live), the stand-in for the Pulumi engine and providers, with
 * the fixture program in fixtures/harness-program against a real Docker engine.
 * Without Docker: fails under CI=true, otherwise skipped with a printed reason.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LiveDeployment } from "./drivers/live-driver";

const LABEL_KEY = "live-harness.test";
const LABEL = "live-harness-test";
const PREFIX = "lhtest";
const PROGRAM = path.join(__dirname, "fixtures/harness-program");
const TINY_IMAGE = "live-harness-tiny:1";
const API_TOKEN = "ApiTok-9f8e7d6c5b4a";

function dockerAvailable(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

function labelled(kind: "ps -a" | "volume ls" | "network ls"): string[] {
  const out = docker(...kind.split(" "), "-q", "--filter", `label=${LABEL_KEY}=${LABEL}`);
  return out ? out.split("\n") : [];
}

function removeLeftovers(): void {
  for (const id of labelled("ps -a")) docker("rm", "-f", "-v", id);
  for (const id of labelled("volume ls")) docker("volume", "rm", id);
  for (const id of labelled("network ls")) docker("network", "rm", id);
}

function pickImage(): string {
  const preferred = "postgres-replication-test:15";
  if (spawnSync("docker", ["image", "inspect", preferred], { stdio: "ignore" }).status === 0) {
    return preferred;
  }
  execFileSync(path.join(__dirname, "fixtures/build-tiny-image.sh"), [TINY_IMAGE]);
  return TINY_IMAGE;
}

function inspect(container: string, format: string): string {
  return docker("inspect", "-f", format, container);
}

const haveDocker = dockerAvailable();
if (!haveDocker && process.env.CI !== "true") {
  process.stderr.write("live harness tests skipped: no Docker engine answers `docker info`\n");
}
const describeLive = haveDocker || process.env.CI === "true" ? describe : describe.skip;

describeLive("live harness against Docker", () => {
  jest.setTimeout(180_000);
  let d: LiveDeployment;
  let markerDir: string;
  let base: Record<string, string | boolean>;
  const secrets = { apiToken: API_TOKEN };
  let password = "";
  let firstId = "";
  const timings: Record<string, number> = {};

  async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[label] = (Date.now() - t0) / 1000;
    }
  }

  beforeAll(() => {
    if (!haveDocker) throw new Error("CI=true but no Docker engine answers `docker info`");
    removeLeftovers();
    d = new LiveDeployment({ programDir: PROGRAM, stack: "test" });
    markerDir = path.join(d.workDir, "markers");
    fs.mkdirSync(markerDir);
    base = { prefix: PREFIX, label: LABEL, image: pickImage(), markerDir, greeting: "hello" };
  });

  afterAll(async () => {
    if (!d) return;
    if (fs.existsSync(d.stateFile)) await d.destroy().catch(() => undefined);
    removeLeftovers();
    await d.dispose();
    console.log(`live harness run times (s): ${JSON.stringify(timings)}`);
  });

  it("first up creates everything, with labels", async () => {
    const r = await timed("first up", () => d.up(base, { secrets }));
    expect(r.actions).toEqual({
      password: "create",
      image: "create",
      data: "create",
      net: "create",
      app: "create",
      setup: "create",
      extra: "create",
    });
    expect(r.secretOutputs).toEqual(expect.arrayContaining(["generatedPassword"]));
    password = String(r.outputs.generatedPassword);
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    firstId = String(r.outputs.containerId);
    expect(inspect(`${PREFIX}-app`, "{{.Id}}")).toBe(firstId);
    expect(inspect(`${PREFIX}-app`, "{{.State.Health.Status}}")).toBe("healthy");
    expect(inspect(`${PREFIX}-app`, `{{index .Config.Labels "${LABEL_KEY}"}}`)).toBe(LABEL);
    expect(docker("exec", `${PREFIX}-app`, "cat", "/etc/app.conf")).toBe("greeting=hello");
    expect(
      docker("volume", "inspect", "-f", `{{index .Labels "${LABEL_KEY}"}}`, `${PREFIX}-data`),
    ).toBe(LABEL);
    expect(
      docker("network", "inspect", "-f", `{{index .Labels "${LABEL_KEY}"}}`, `${PREFIX}-net`),
    ).toBe(LABEL);
    expect(fs.statSync(d.stateFile).mode & 0o777).toBe(0o600);
  });

  it("a second up leaves everything alone", async () => {
    const started = inspect(`${PREFIX}-app`, "{{.State.StartedAt}}");
    const r = await timed("unchanged up", () => d.up(base, { secrets }));
    expect(new Set(Object.values(r.actions))).toEqual(new Set(["same"]));
    expect(Object.keys(r.actions)).toHaveLength(7);
    expect(inspect(`${PREFIX}-app`, "{{.Id}}")).toBe(firstId);
    expect(inspect(`${PREFIX}-app`, "{{.State.StartedAt}}")).toBe(started);
    expect(r.outputs.generatedPassword).toBe(password);
  });

  it("a config change updates the command and replaces the container", async () => {
    base = { ...base, greeting: "bonjour" };
    const r = await timed("change up", () => d.up(base, { secrets }));
    expect(r.actions).toMatchObject({ app: "replace", setup: "update", net: "same", data: "same" });
    expect(r.outputs.containerId).not.toBe(firstId);
    expect(r.outputs.setupStdout).toBe("configured bonjour");
    expect(docker("exec", `${PREFIX}-app`, "cat", "/etc/app.conf")).toBe("greeting=bonjour");
    expect(labelled("ps -a")).toHaveLength(1);
  });

  it("removing a resource from the program deletes it and runs its delete command", async () => {
    base = { ...base, withExtra: false };
    const r = await timed("removal up", () => d.up(base, { secrets }));
    expect(r.actions.extra).toBe("delete");
    expect(fs.readFileSync(path.join(markerDir, "extra-deleted"), "utf8").trim()).toBe(
      "extra created",
    );
  });

  it("--refresh re-creates a container removed behind the harness's back", async () => {
    const before = inspect(`${PREFIX}-app`, "{{.Id}}");
    docker("rm", "-f", `${PREFIX}-app`);
    const r = await timed("refresh up", () => d.up(base, { secrets, refresh: true }));
    expect(r.actions.app).toBe("create");
    expect(r.actions.setup).toBe("same");
    expect(inspect(`${PREFIX}-app`, "{{.Id}}")).not.toBe(before);
    expect(inspect(`${PREFIX}-app`, "{{.State.Running}}")).toBe("true");
  });

  it("a failing command makes up fail with its stderr tail, keeping the rest", async () => {
    await expect(d.up({ ...base, failCommand: true }, { secrets })).rejects.toThrow(
      /failing.*\n[\s\S]*boom: failing on purpose/,
    );
    const r = await d.up(base, { secrets });
    expect(new Set(Object.values(r.actions))).toEqual(new Set(["same"]));
  });

  it("secrets appear neither in the harness output nor in the state file", () => {
    const state = fs.readFileSync(d.stateFile, "utf8");
    for (const s of [password, API_TOKEN]) {
      expect(d.output).not.toContain(s);
      expect(state).not.toContain(s);
    }
    expect(d.output).toContain("[secret]");
    expect(state).toContain("aes256gcm:v1:");
  });

  it("destroy removes every object with the fixture's label", async () => {
    await timed("destroy", () => d.destroy());
    expect(labelled("ps -a")).toEqual([]);
    expect(labelled("volume ls")).toEqual([]);
    expect(labelled("network ls")).toEqual([]);
    expect(fs.existsSync(d.stateFile)).toBe(false);
    expect(fs.readFileSync(path.join(markerDir, "setup-deleted"), "utf8")).toContain("deleted");
  });
});
