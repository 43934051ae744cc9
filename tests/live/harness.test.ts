/**
 * Tests of the live harness (tools/live), the stand-in for the Pulumi engine and providers, with
 * the fixture programs in fixtures/ against a real Docker engine. Each test of a behaviour of the
 * real engine or providers (docker v4.5.0 upstream, pulumi-command v1.2.1, go-provider v1.3.0)
 * fails against a harness that is kinder than they are.
 * Without Docker: fails under CI=true, otherwise skipped with a printed reason.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { goDuration, goQuote } from "../../tools/live/gofmt";
import { LiveDeployment } from "./drivers/live-driver";

/** Every Docker object these tests create is named with this prefix (and only those are removed). */
const NAME_PREFIX = "prt-harness-";
const LABEL_KEY = "live-harness.test";
const LABEL = "live-harness-test";
const TINY_IMAGE = `${NAME_PREFIX}tiny:1`;
/** A tag the tests move to another image. */
const MOVING_TAG = `${NAME_PREFIX}img:test`;
const MOVED_SOURCE = `${NAME_PREFIX}imgsrc`;
const API_TOKEN = "ApiTok-9f8e7d6c5b4a";
/** Host port for the container test (this suite's range is 15900-15999). */
const HOST_PORT = 15951;

function dockerAvailable(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

function dockerOk(...args: string[]): boolean {
  return spawnSync("docker", args, { stdio: "ignore" }).status === 0;
}

/** Names of Docker objects of one kind that start with `prefix`. */
function named(kind: "container" | "volume" | "network", prefix: string): string[] {
  const list = kind === "container" ? ["ps", "-a"] : [kind, "ls"];
  const format = kind === "container" ? "{{.Names}}" : "{{.Name}}";
  const out = docker(...list, "--filter", `name=${prefix}`, "--format", format);
  return out ? out.split("\n").filter((n) => n.startsWith(prefix)) : [];
}

function removeLeftovers(prefix: string): void {
  for (const c of named("container", prefix)) docker("rm", "-f", "-v", c);
  for (const v of named("volume", prefix)) docker("volume", "rm", "-f", v);
  for (const n of named("network", prefix)) docker("network", "rm", n);
}

function pickImage(): string {
  const preferred = "postgres-replication-test:15";
  if (dockerOk("image", "inspect", preferred)) return preferred;
  execFileSync(path.join(__dirname, "fixtures/build-tiny-image.sh"), [TINY_IMAGE]);
  return TINY_IMAGE;
}

function inspect(object: string, format: string): string {
  return docker("inspect", "-f", format, object);
}

interface StoredResource {
  name: string;
  id: string;
  outputs: Record<string, unknown>;
  initError?: string;
}

/** One resource of the harness's state file (secret values stay encrypted). */
function stored(d: LiveDeployment, name: string): StoredResource {
  const state = JSON.parse(fs.readFileSync(d.stateFile, "utf8")) as {
    resources: StoredResource[];
  };
  const r = state.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name} in ${d.stateFile}`);
  return r;
}

/** The harness's --outputs-json of the last run, also after a failed one. */
function lastRun(d: LiveDeployment): { actions: Record<string, string>; errors: string[] } {
  return JSON.parse(fs.readFileSync(path.join(d.workDir, "outputs.json"), "utf8")) as {
    actions: Record<string, string>;
    errors: string[];
  };
}

/** Runs a failing `up`; returns its error message and how long it took. */
async function failingUp(f: () => Promise<unknown>): Promise<[string, number]> {
  const t0 = Date.now();
  try {
    await f();
  } catch (e) {
    return [e instanceof Error ? e.message : String(e), (Date.now() - t0) / 1000];
  }
  throw new Error("up succeeded, expected it to fail");
}

describe("Go formats the harness reproduces", () => {
  it("time.Duration.String()", () => {
    expect(goDuration(600e9)).toBe("10m0s");
    expect(goDuration(2e9)).toBe("2s");
    expect(goDuration(1.5e9)).toBe("1.5s");
    expect(goDuration(90e9)).toBe("1m30s");
    expect(goDuration(3600e9)).toBe("1h0m0s");
    expect(goDuration(3725.25e9)).toBe("1h2m5.25s");
    expect(goDuration(0)).toBe("0s");
    expect(goDuration(2e6)).toBe("2ms");
    expect(goDuration(1500)).toBe("1.5µs");
    expect(goDuration(7)).toBe("7ns");
  });

  it("%q of a string", () => {
    expect(goQuote('a "b"\n\tc\\ é\x01\u00a0')).toBe('"a \\"b\\"\\n\\tc\\\\ é\\x01\\u00a0"');
  });
});

const haveDocker = dockerAvailable();
if (!haveDocker && process.env.CI !== "true") {
  process.stderr.write("live harness tests skipped: no Docker engine answers `docker info`\n");
}
const describeLive = haveDocker || process.env.CI === "true" ? describe : describe.skip;

describeLive("live harness against Docker: containers, images, refresh", () => {
  jest.setTimeout(180_000);
  const prefix = `${NAME_PREFIX}a`;
  const app = `${prefix}-app`;
  let d: LiveDeployment;
  let markerDir: string;
  let base: Record<string, string | number | boolean>;
  const secrets = { apiToken: API_TOKEN };
  let password = "";
  let firstId = "";
  let movedImage = "";
  const timings: Record<string, number> = {};

  async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[label] = (Date.now() - t0) / 1000;
    }
  }

  function removeMovedImage(): void {
    if (dockerOk("container", "inspect", MOVED_SOURCE)) docker("rm", "-f", MOVED_SOURCE);
    if (dockerOk("image", "inspect", MOVING_TAG)) docker("rmi", MOVING_TAG);
    if (movedImage && dockerOk("image", "inspect", movedImage)) docker("rmi", movedImage);
  }

  beforeAll(() => {
    if (!haveDocker) throw new Error("CI=true but no Docker engine answers `docker info`");
    removeLeftovers(prefix);
    removeMovedImage();
    docker("tag", pickImage(), MOVING_TAG);
    d = new LiveDeployment({
      programDir: path.join(__dirname, "fixtures/harness-program"),
      stack: "test",
    });
    markerDir = path.join(d.workDir, "markers");
    fs.mkdirSync(markerDir);
    base = { prefix, label: LABEL, image: MOVING_TAG, markerDir, greeting: "hello" };
  });

  afterAll(async () => {
    if (!d) return;
    if (fs.existsSync(d.stateFile)) await d.destroy().catch(() => undefined);
    removeLeftovers(prefix);
    removeMovedImage();
    await d.dispose();
    console.log(`live harness run times (s): ${JSON.stringify(timings)}`);
  });

  it("first up creates everything; Read stores the healthcheck as Go prints it", async () => {
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
    expect(inspect(app, "{{.Id}}")).toBe(firstId);
    expect(inspect(app, "{{.State.Health.Status}}")).toBe("healthy");
    expect(inspect(app, `{{index .Config.Labels "${LABEL_KEY}"}}`)).toBe(LABEL);
    expect(docker("exec", app, "cat", "/etc/app.conf")).toBe("greeting=hello");
    expect(
      docker("volume", "inspect", "-f", `{{index .Labels "${LABEL_KEY}"}}`, `${prefix}-data`),
    ).toBe(LABEL);
    expect(
      docker("network", "inspect", "-f", `{{index .Labels "${LABEL_KEY}"}}`, `${prefix}-net`),
    ).toBe(LABEL);
    expect(fs.statSync(d.stateFile).mode & 0o777).toBe(0o600);
    // What the provider's Read stores: every duration in Go's format, defaults included.
    expect(stored(d, "app").outputs.healthcheck).toEqual({
      tests: ["CMD", "/bin/sh", "-c", "cat /data/ready"],
      interval: "1s",
      timeout: "5s",
      startPeriod: "10m0s",
      startInterval: "0s",
      retries: 30,
    });
  });

  it("a second up leaves everything alone", async () => {
    const started = inspect(app, "{{.State.StartedAt}}");
    const r = await timed("unchanged up", () => d.up(base, { secrets }));
    expect(new Set(Object.values(r.actions))).toEqual(new Set(["same"]));
    expect(Object.keys(r.actions)).toHaveLength(7);
    expect(inspect(app, "{{.Id}}")).toBe(firstId);
    expect(inspect(app, "{{.State.StartedAt}}")).toBe(started);
    expect(r.outputs.generatedPassword).toBe(password);
  });

  it("a duration Go prints differently is an in-place update, again after every refresh", async () => {
    const started = inspect(app, "{{.State.StartedAt}}");
    // "600s" is 10 minutes, which Read stored as "10m0s": a diff against state.
    let r = await d.up({ ...base, startPeriod: "600s" }, { secrets });
    expect(r.actions.app).toBe("update");
    // Update does not Read: state now holds the planned "600s".
    r = await d.up({ ...base, startPeriod: "600s" }, { secrets });
    expect(r.actions.app).toBe("same");
    // A refresh reads "10m0s" back, and the diff is there again.
    r = await d.up({ ...base, startPeriod: "600s" }, { secrets, refresh: true });
    expect(r.actions.app).toBe("update");
    expect(stored(d, "app").outputs.healthcheck).toMatchObject({ startPeriod: "600s" });
    r = await d.up(base, { secrets });
    expect(r.actions.app).toBe("update");
    expect(inspect(app, "{{.Id}}")).toBe(firstId);
    expect(inspect(app, "{{.State.StartedAt}}")).toBe(started);
  });

  it("a healthcheck change is an update written to state, never applied", async () => {
    const r = await d.up({ ...base, healthInterval: "2s" }, { secrets });
    expect(r.actions.app).toBe("update");
    expect(inspect(app, "{{.Id}}")).toBe(firstId);
    expect(inspect(app, "{{.Config.Healthcheck.Interval}}")).toBe("1s");
    expect(stored(d, "app").outputs.healthcheck).toMatchObject({ interval: "2s" });
    const back = await d.up(base, { secrets });
    expect(back.actions.app).toBe("update");
  });

  it("a restart policy change is applied in place (docker update), not a replacement", async () => {
    const started = inspect(app, "{{.State.StartedAt}}");
    base = { ...base, restart: "unless-stopped" };
    const r = await d.up(base, { secrets });
    expect(r.actions.app).toBe("update");
    expect(inspect(app, "{{.Id}}")).toBe(firstId);
    expect(inspect(app, "{{.State.StartedAt}}")).toBe(started);
    expect(inspect(app, "{{.HostConfig.RestartPolicy.Name}}")).toBe("unless-stopped");
  });

  it("a config change updates the command and replaces the container", async () => {
    base = { ...base, greeting: "bonjour" };
    const r = await timed("change up", () => d.up(base, { secrets }));
    expect(r.actions).toMatchObject({ app: "replace", setup: "update", net: "same", data: "same" });
    expect(r.outputs.containerId).not.toBe(firstId);
    expect(r.outputs.setupStdout).toBe("configured bonjour");
    expect(docker("exec", app, "cat", "/etc/app.conf")).toBe("greeting=bonjour");
    expect(named("container", prefix)).toEqual([app]);
  });

  it("removing a resource from the program deletes it and runs its delete command", async () => {
    base = { ...base, withExtra: false };
    const r = await timed("removal up", () => d.up(base, { secrets }));
    expect(r.actions.extra).toBe("delete");
    expect(fs.readFileSync(path.join(markerDir, "extra-deleted"), "utf8").trim()).toBe(
      "extra created",
    );
  });

  it("wait polls an unhealthy container until waitTimeout, then keeps it half-created", async () => {
    const unhealthy = {
      ...base,
      greeting: "unhealthy",
      healthCmd: "exit 1",
      healthRetries: 1,
      startPeriod: "0s",
      waitTimeout: 8,
    };
    const [message, took] = await timed("unhealthy wait", () =>
      failingUp(() => d.up(unhealthy, { secrets })),
    );
    expect(message).toContain("container failed to be in healthy state");
    expect(took).toBeGreaterThanOrEqual(8);
    // Unhealthy after about a second, yet the wait went on.
    expect(inspect(app, "{{.State.Health.Status}}")).toBe("unhealthy");
    expect(Number(inspect(app, "{{.State.Health.FailingStreak}}"))).toBeGreaterThanOrEqual(4);
    const id = inspect(app, "{{.Id}}");
    expect(stored(d, "app").initError).toContain("container failed to be in healthy state");

    // Unchanged and partly created: the engine's empty update, no replacement and no wait.
    const r = await d.up(unhealthy, { secrets });
    expect(r.actions.app).toBe("update");
    expect(inspect(app, "{{.Id}}")).toBe(id);
    expect(inspect(app, "{{.State.Health.Status}}")).toBe("unhealthy");
    expect(stored(d, "app").initError).toBeUndefined();
  });

  it("wait also polls an exited container until waitTimeout", async () => {
    // Without a restart policy it stays exited (with one it would be restarting, polled alike).
    const crashing = { ...base, greeting: "crash", crash: true, restart: "no", waitTimeout: 6 };
    const [message, took] = await failingUp(() => d.up(crashing, { secrets }));
    expect(message).toContain("container failed to be in healthy state");
    expect(took).toBeGreaterThanOrEqual(6);
    expect(inspect(app, "{{.State.Status}}")).toBe("exited");
    const r = await d.up(base, { secrets });
    expect(r.actions.app).toBe("replace");
    expect(inspect(app, "{{.State.Health.Status}}")).toBe("healthy");
  });

  it("--refresh re-reads the image: a moved tag replaces the container built from it", async () => {
    const before = String((await d.up(base, { secrets })).outputs.imageId);
    docker("create", "--name", MOVED_SOURCE, MOVING_TAG, "true");
    movedImage = docker("commit", "--change", "LABEL prt-harness=moved", MOVED_SOURCE);
    docker("tag", movedImage, MOVING_TAG);
    expect(movedImage).not.toBe(before);

    // Without a refresh nothing reads the tag again.
    let r = await d.up(base, { secrets });
    expect(new Set(Object.values(r.actions))).toEqual(new Set(["same"]));

    const oldId = inspect(app, "{{.Id}}");
    r = await timed("moved tag refresh", () => d.up(base, { secrets, refresh: true }));
    expect(r.actions).toMatchObject({ image: "same", app: "replace" });
    expect(r.outputs.imageId).toBe(movedImage);
    expect(inspect(app, "{{.Image}}")).toBe(movedImage);
    expect(inspect(app, "{{.Id}}")).not.toBe(oldId);
  });

  it("--refresh re-creates a container removed behind the harness's back", async () => {
    const before = inspect(app, "{{.Id}}");
    docker("rm", "-f", app);
    const r = await timed("refresh up", () => d.up(base, { secrets, refresh: true }));
    expect(r.actions.app).toBe("create");
    expect(r.actions.setup).toBe("same");
    expect(inspect(app, "{{.Id}}")).not.toBe(before);
    expect(inspect(app, "{{.State.Running}}")).toBe("true");
  });

  it("--refresh of a stopped must-run container: an update that starts it again", async () => {
    const id = inspect(app, "{{.Id}}");
    docker("stop", "-t", "1", app);
    const r = await d.up(base, { secrets, refresh: true });
    expect(r.actions.app).toBe("update");
    expect(inspect(app, "{{.Id}}")).toBe(id);
    expect(inspect(app, "{{.State.Running}}")).toBe("true");
  });

  it("--refresh of a stopped must-run container with ports: a replacement", async () => {
    base = { ...base, hostPort: HOST_PORT };
    let r = await d.up(base, { secrets });
    expect(r.actions.app).toBe("replace");
    const id = inspect(app, "{{.Id}}");
    docker("stop", "-t", "1", app);
    // Read stores the stopped container's (empty) port list: ports are ForceNew.
    r = await d.up(base, { secrets, refresh: true });
    expect(r.actions.app).toBe("replace");
    expect(inspect(app, "{{.Id}}")).not.toBe(id);
    expect(inspect(app, "{{.State.Running}}")).toBe("true");
  });

  it("a failing command fails up with the provider's error text, whatever logging says", async () => {
    await expect(d.up({ ...base, failCommand: true }, { secrets })).rejects.toThrow(/failing/);
    expect(d.output).toContain(
      "error: Command failing: exit status 3: running " +
        `"echo partial output; sleep 0.2; echo 'boom: failing on purpose' >&2; exit 3":\n` +
        "partial output\nboom: failing on purpose\n",
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
    expect(d.output).toContain("generatedPassword: [secret]");
    expect(state).toContain("aes256gcm:v1:");
  });

  it("destroy removes every object the program created", async () => {
    await timed("destroy", () => d.destroy());
    expect(named("container", prefix)).toEqual([]);
    expect(named("volume", prefix)).toEqual([]);
    expect(named("network", prefix)).toEqual([]);
    expect(fs.existsSync(d.stateFile)).toBe(false);
    expect(fs.readFileSync(path.join(markerDir, "setup-deleted"), "utf8")).toContain("deleted");
  });
});

describeLive("live harness against Docker: commands and what it masks", () => {
  jest.setTimeout(120_000);
  let d: LiveDeployment;
  let markerDir: string;
  let base: Record<string, string>;
  const secrets = { apiToken: API_TOKEN };
  let password = "";

  beforeAll(() => {
    if (!haveDocker) throw new Error("CI=true but no Docker engine answers `docker info`");
    d = new LiveDeployment({ programDir: path.join(__dirname, "fixtures/harness-commands") });
    markerDir = path.join(d.workDir, "markers");
    fs.mkdirSync(markerDir);
    base = { markerDir };
  });

  afterAll(async () => {
    if (!d) return;
    if (fs.existsSync(d.stateFile)) await d.destroy().catch(() => undefined);
    await d.dispose();
  });

  it("stdout is secret only through additionalSecretOutputs; only secret config is masked", async () => {
    const r = await d.up(base, { secrets });
    password = String(r.outputs.generatedPassword);
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    // Secretness flows from an input to the output of the same name only.
    expect(r.secretOutputs).toEqual(
      expect.arrayContaining(["generatedPassword", "guardedStdout", "leakEnvironment"]),
    );
    expect(r.secretOutputs).not.toContain("leakStdout");
    expect(r.outputs.leakStdout).toBe(`password=${password} token=${API_TOKEN}`);
    expect(stored(d, "leak").outputs.stdout).toBe(`password=${password} token=${API_TOKEN}`);
    expect(stored(d, "guarded").outputs.stdout).toEqual({
      secret: expect.stringMatching(/^aes256gcm:v1:/),
    });
    // The CLI masks decrypted secret config, not generated passwords: the leak is visible.
    expect(d.output).toContain(`password=${password} token=[secret]`);
    expect(d.output).not.toContain(API_TOKEN);
    expect(d.output).toContain("generatedPassword: [secret]");
  });

  it("stdout keeps all but one trailing newline; stdin is /dev/null unless given", async () => {
    const r = await d.up(base, { secrets });
    expect(new Set(Object.values(r.actions))).toEqual(new Set(["same"]));
    expect(r.outputs.paddedStdout).toBe("  two trailing newlines\n");
    expect(r.outputs.withStdinStdout).toBe("first line\nsecond line");
    expect(r.outputs.noStdinStdout).toBe("/dev/null");
  });

  it("an update sees the previous stdout/stderr in its environment only when non-empty", async () => {
    const first = "gen 1 previous stdout=[unset] previous stderr=[unset]";
    expect((await d.up(base, { secrets })).outputs.prevStdout).toBe(first);
    const r = await d.up({ ...base, generation: "2" }, { secrets });
    expect(r.actions).toMatchObject({ prev: "update", "no-prev": "update" });
    expect(r.outputs.prevStdout).toBe(`gen 2 previous stdout=[${first}] previous stderr=[unset]`);
    expect(r.outputs.noPrevStdout).toBe("gen 2 previous stdout=[unset] previous stderr=[unset]");
  });

  it("a replacement through triggers creates the new command before deleting the old", async () => {
    const r = await d.up({ ...base, trigger: "b" }, { secrets });
    expect(r.actions.replaced).toBe("replace");
    expect(fs.readFileSync(path.join(markerDir, "replaced-events"), "utf8")).toBe(
      "create a\ncreate b\ndelete a\n",
    );
  });

  it("a failing command reports exit status, the %q-quoted command and all its output", async () => {
    await expect(d.up({ ...base, trigger: "b", failCommand: "true" }, { secrets })).rejects.toThrow(
      /exit status 4/,
    );
    expect(d.output).toContain(
      "error: Command failing: exit status 4: running " +
        '"echo \\"to stdout\\"\\n\\tsleep 0.2; echo to stderr >&2; exit 4 # é":\n' +
        "to stdout\nto stderr\n",
    );
  });
});

describeLive("live harness against Docker: fixed-name networks and volumes", () => {
  jest.setTimeout(180_000);
  const prefix = `${NAME_PREFIX}c`;
  let d: LiveDeployment;
  let base: Record<string, string | boolean>;

  function volumeLabel(volume: string): string {
    return docker("volume", "inspect", "-f", '{{index .Labels "live-harness.generation"}}', volume);
  }

  beforeAll(() => {
    if (!haveDocker) throw new Error("CI=true but no Docker engine answers `docker info`");
    removeLeftovers(prefix);
    d = new LiveDeployment({ programDir: path.join(__dirname, "fixtures/harness-objects") });
    base = { prefix, image: pickImage() };
  });

  afterAll(async () => {
    if (!d) return;
    // The container keeps the volume in use: without it the pending delete can go through.
    for (const c of named("container", prefix)) docker("rm", "-f", c);
    if (fs.existsSync(d.stateFile)) await d.destroy().catch(() => undefined);
    removeLeftovers(prefix);
    await d.dispose();
  });

  it("first up creates the network, the volumes and the container", async () => {
    const r = await d.up(base);
    expect(r.actions).toEqual({ net: "create", spare: "create", used: "create", holder: "create" });
    expect(volumeLabel(`${prefix}-spare`)).toBe("1");
  });

  it("replacing a fixed-name volume creates first (getting the same volume) and then deletes it", async () => {
    const r = await d.up({ ...base, spareLabel: "2" });
    expect(r.actions.spare).toBe("replace");
    // Docker's create returned the existing volume with its old labels, and Read stored those.
    expect(stored(d, "spare").outputs.labels).toEqual(
      expect.arrayContaining([{ label: "live-harness.generation", value: "1" }]),
    );
    // The old object's delete at the end removed that very volume.
    expect(dockerOk("volume", "inspect", `${prefix}-spare`)).toBe(false);
  });

  it("with deleteBeforeReplace the volume is deleted first, as the program asked", async () => {
    let r = await d.up({ ...base, spareLabel: "2" }, { refresh: true });
    expect(r.actions.spare).toBe("create");
    expect(volumeLabel(`${prefix}-spare`)).toBe("2");
    r = await d.up({ ...base, spareLabel: "3", spareDeleteFirst: true });
    expect(r.actions.spare).toBe("replace");
    expect(volumeLabel(`${prefix}-spare`)).toBe("3");
    base = { ...base, spareLabel: "3", spareDeleteFirst: true };
  });

  it("replacing a fixed-name network fails: Docker refuses a second one of that name", async () => {
    const id = docker("network", "inspect", "-f", "{{.Id}}", `${prefix}-net`);
    const [message] = await failingUp(() => d.up({ ...base, netLabel: "2" }));
    expect(message).toMatch(/already exists/);
    expect(docker("network", "inspect", "-f", "{{.Id}}", `${prefix}-net`)).toBe(id);
    // The failed replacement left the old network in state.
    const r = await d.up(base);
    expect(new Set(Object.values(r.actions))).toEqual(new Set(["same"]));
  });

  it("replacing a fixed-name volume in use: the delete at the end retries, then fails", async () => {
    const [message, took] = await failingUp(() => d.up({ ...base, usedLabel: "2" }));
    expect(message).toMatch(/volume is in use/);
    expect(took).toBeGreaterThanOrEqual(29);
    const run = lastRun(d);
    expect(run.actions).toMatchObject({ used: "replace", holder: "same" });
    expect(run.errors.join("\n")).toMatch(/Volume used: delete failed/);
    expect(volumeLabel(`${prefix}-used`)).toBe("1");
  });
});
