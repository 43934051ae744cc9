/**
 * scripts/deploy.sh with stand-ins for `docker`, `pulumi`, `npm` and `node` on PATH: which
 * engine runs, on which daemon, with which image, in which order.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.join(__dirname, "..", "..");

interface Stubs {
  /** Host the Docker CLI's current context points at. */
  contextHost: string;
  /** Whether the Pulumi CLI is installed. */
  pulumi: boolean;
  /** Images `docker image inspect` finds locally; nothing can be pulled. */
  localImages: string[];
}

interface Run {
  calls: string[];
  stdout: string;
}

function deploy(stubs: Stubs, env: Record<string, string> = {}): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-stub-"));
  const record = path.join(dir, "calls");
  const write = (name: string, body: string) =>
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const recordCall = (name: string) =>
    `echo "${name} $* DOCKER_HOST=\${DOCKER_HOST-unset}" >> '${record}'`;
  write(
    "docker",
    `case "$1 $2" in
  "context inspect") echo '${stubs.contextHost}' ;;
  "image inspect") case " ${stubs.localImages.join(" ")} " in *" $3 "*) exit 0 ;; *) exit 1 ;; esac ;;
  "pull "*) exit 1 ;;
  *) exit 0 ;;
esac`,
  );
  write("node", "exit 0");
  // `config get image` answers as the committed dev stack does.
  const engine = (name: string) =>
    `${recordCall(name)}\ncase "$*" in *"config get image"*) echo postgres:15 ;; esac`;
  write("npm", engine("npm"));
  if (stubs.pulumi) write("pulumi", engine("pulumi"));
  try {
    const result = spawnSync("bash", [path.join(REPO, "scripts", "deploy.sh")], {
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        HOME: dir,
        PULUMI_CONFIG_PASSPHRASE: "unit-test",
        ...env,
      },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return { calls: fs.readFileSync(record, "utf8").trim().split("\n"), stdout: result.stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const everywhere = { pulumi: true, localImages: ["postgres:15"] };

describe("deploy.sh", () => {
  test("pulumi runs against the daemon of the Docker CLI's current context", () => {
    const { calls } = deploy({ ...everywhere, contextHost: "unix:///run/user/1000/docker.sock" });
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) {
      expect(call).toMatch(/DOCKER_HOST=unix:\/\/\/run\/user\/1000\/docker\.sock$/);
    }
    expect(calls[calls.length - 1]).toMatch(/^pulumi up --stack dev --yes /);
  });

  test("a DOCKER_HOST the caller set is kept", () => {
    const { calls } = deploy(
      { ...everywhere, contextHost: "unix:///elsewhere.sock" },
      { DOCKER_HOST: "tcp://127.0.0.1:2375" },
    );
    for (const call of calls) expect(call).toMatch(/DOCKER_HOST=tcp:\/\/127\.0\.0\.1:2375$/);
  });

  test("without the Pulumi CLI it says so and runs the harness on the same stack", () => {
    const { calls, stdout } = deploy({ ...everywhere, pulumi: false, contextHost: "" });
    expect(stdout).toMatch(/the Pulumi CLI is not installed; .* through the live harness/);
    expect(calls[calls.length - 1]).toMatch(/^npm run --silent live -- up --stack dev --yes /);
    expect(calls.filter((c) => c.startsWith("pulumi"))).toEqual([]);
    expect(stdout).toMatch(/npm run --silent live -- stack output --stack dev --show-secrets/);
  });

  test("an image that cannot be pulled is replaced by the local test image, before up", () => {
    const { calls, stdout } = deploy({
      pulumi: false,
      contextHost: "",
      localImages: ["postgres-replication-test:15"],
    });
    expect(stdout).toMatch(/image postgres:15 cannot be pulled here/);
    const setImage = calls.findIndex((c) =>
      c.startsWith("npm run --silent live -- config set image postgres-replication-test:15"),
    );
    const up = calls.findIndex((c) => c.includes(" up --stack dev"));
    expect(setImage).toBeGreaterThanOrEqual(0);
    expect(setImage).toBeLessThan(up);
  });
});
