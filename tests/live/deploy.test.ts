/**
 * The README's first command on a machine without the Pulumi CLI: `npm run deploy` in a fresh
 * copy of the repository brings up the committed dev stack through the live harness (with the
 * local test image when postgres:15 cannot be pulled), prints how to connect, and that works
 * with psql; `destroy --yes` leaves nothing. The copy keeps the developer's own stack file and
 * state untouched. Without Docker: skipped with the reason, or failed under CI=true.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pgTool, run, testImage } from "../support/docker";
import { labelledObjects, removeLeftovers } from "./support/cluster";
import { liveSuiteGate, timed } from "./support/faults";

const { describeLive, unavailable } = liveSuiteGate("the npm run deploy test");

const REPO = path.resolve(__dirname, "../..");
/** The committed dev stack's cluster (Pulumi.dev.yaml). */
const DEV_CLUSTER = "postgres";

describeLive("npm run deploy without the Pulumi CLI (fresh copy, dev stack)", () => {
  let copy = "";
  const npm = (args: string[], allowFailure = false) =>
    run("npm", ["--prefix", copy, ...args], {
      env: { TEST_IMAGE: testImage() },
      timeoutMs: 300_000,
      allowFailure,
    });

  jest.setTimeout(8 * 60 * 1000);

  beforeAll(async () => {
    if (unavailable) throw new Error(`the deploy test cannot run under CI: ${unavailable}`);
    if ((await labelledObjects(DEV_CLUSTER)).length > 0 && process.env.CI !== "true") {
      throw new Error(
        `a "${DEV_CLUSTER}" cluster already runs on this engine (the dev stack): destroy it first`,
      );
    }
    await removeLeftovers(DEV_CLUSTER);
    // A fresh clone: the files git tracks (or would: not ignored), and the installed packages.
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-copy-"));
    const { stdout } = await run("git", [
      "-C",
      REPO,
      "ls-files",
      "-z",
      "--cached",
      "--others",
      "--exclude-standard",
    ]);
    for (const file of stdout.split("\0").filter((f) => f !== "")) {
      const target = path.join(copy, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(REPO, file), target);
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(copy, "node_modules"));
  });

  afterAll(async () => {
    try {
      if (copy) await npm(["run", "--silent", "live", "--", "destroy", "--yes"], true);
    } finally {
      await removeLeftovers(DEV_CLUSTER);
      if (copy) fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  test("deploys the dev stack, says how to connect, and that connection works", async () => {
    const started = Date.now();
    const deployed = await npm(["run", "deploy"]);
    timed("npm run deploy", started, "deploy");
    const said = deployed.stdout + deployed.stderr;
    expect(said).toMatch(/the Pulumi CLI is not installed; running the same program on stack dev/);
    expect(said).toMatch(
      /psql "\$\(npm run --silent live -- stack output --stack dev --show-secrets connectionString\)"/,
    );

    const { stdout: uri } = await npm([
      "run",
      "--silent",
      "live",
      "--",
      "stack",
      "output",
      "--stack",
      "dev",
      "--show-secrets",
      "connectionString",
    ]);
    const answer = await run(pgTool("psql"), [
      uri.trim(),
      "-X",
      "-A",
      "-t",
      "-c",
      "select current_database(), pg_is_in_recovery()",
    ]);
    expect(answer.stdout.trim()).toBe("postgresdb|f");

    const destroyed = await npm([
      "run",
      "--silent",
      "live",
      "--",
      "destroy",
      "--yes",
      "--stack",
      "dev",
    ]);
    expect(destroyed.stdout + destroyed.stderr).toMatch(/deleted/);
    expect(await labelledObjects(DEV_CLUSTER)).toEqual([]);
  });
});
