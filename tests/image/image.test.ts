/**
 * Live tests of the local postgres:15-compatible test image (tests/image/build-image.sh):
 * does it honour the parts of the official image's contract the project relies on?
 *
 * Needs a Docker engine and the image (`npm run env:setup`). Without them the tests are
 * skipped with a printed reason, except under CI=true where they fail.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  docker,
  dockerUnavailableReason,
  freePort,
  labelArgs,
  psql,
  psqlResult,
  PsqlTarget,
  removeByLabel,
  testImage,
  waitForExit,
  waitForPostgres,
  waitUntil,
} from "../support/docker";

const IMAGE = testImage();
const LABEL = "postgres-replication.test=image";
const RUN_ID = `prt-image-${Date.now().toString(36)}-${process.pid}`;
/** Lets afterAll remove exactly this run's objects, even if another run is going on. */
const RUN_LABEL = `postgres-replication.test-run=${RUN_ID}`;
const LABELS = labelArgs([LABEL, RUN_LABEL]);
const PORT_MIN = 15400;
const PORT_MAX = 15499;

const unavailable = dockerUnavailableReason(IMAGE);
const mustRun = process.env.CI === "true";
if (unavailable && !mustRun) {
  process.stderr.write(`Skipping the image tests: ${unavailable}\n`);
}
const liveIt = unavailable && !mustRun ? it.skip : it;

let tmpRoot = "";

/** A directory the container's postgres user (a different uid) can read. */
function hostDir(name: string, files: Record<string, string>): string {
  const dir = path.join(tmpRoot, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  for (const [file, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, file), content, { mode: 0o644 });
  }
  return dir;
}

async function createVolume(name: string): Promise<string> {
  await docker(["volume", "create", ...LABELS, name]);
  return name;
}

interface StartOptions {
  env?: Record<string, string>;
  mounts?: string[];
  network?: string;
  port?: number;
  user?: string;
  args?: string[];
}

/** `docker run -d` a PostgreSQL container of this run; resolves with its name. */
async function startContainer(suffix: string, options: StartOptions = {}): Promise<string> {
  const name = `${RUN_ID}-${suffix}`;
  const args = ["run", "-d", "--name", name, ...LABELS];
  for (const [key, value] of Object.entries(options.env ?? {})) args.push("-e", `${key}=${value}`);
  for (const mount of options.mounts ?? []) args.push("-v", mount);
  if (options.network) args.push("--network", options.network, "--network-alias", suffix);
  if (options.port) args.push("-p", `127.0.0.1:${options.port}:5432`);
  if (options.user) args.push("--user", options.user);
  await docker([...args, IMAGE, ...(options.args ?? [])]);
  return name;
}

/** Start a container and wait until its final server (not the init-time one) is up. */
async function startPostgres(suffix: string, options: StartOptions = {}): Promise<string> {
  const name = await startContainer(suffix, options);
  await waitForPostgres(name);
  return name;
}

async function serverLog(container: string): Promise<string> {
  const { stdout, stderr } = await docker(["logs", container]);
  return `${stdout}\n${stderr}`;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe("postgres-replication test image", () => {
  jest.setTimeout(60_000);

  beforeAll(async () => {
    if (unavailable) {
      throw new Error(`Docker or the test image is unavailable under CI=true: ${unavailable}`);
    }
    await removeByLabel(LABEL);
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_ID}-`));
    fs.chmodSync(tmpRoot, 0o755);
  });

  afterAll(async () => {
    if (unavailable) return;
    await removeByLabel(RUN_LABEL);
    if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  });

  liveIt("initialises an empty volume from POSTGRES_USER/PASSWORD(_FILE)/DB", async () => {
    // Quotes, spaces and a dollar sign: the password must survive initdb's --pwfile intact.
    const password = `p w'"$x-${RUN_ID}`;
    const secrets = hostDir("secrets", { "superuser-password": password });
    const [portEnv, portFile] = [
      await freePort(PORT_MIN, PORT_MAX),
      await freePort(PORT_MIN, PORT_MAX),
    ];
    const common = { POSTGRES_USER: "clusteradmin", POSTGRES_DB: "appdb" };
    const [viaEnv, viaFile] = await Promise.all([
      startPostgres("init-env", {
        env: { ...common, POSTGRES_PASSWORD: password },
        mounts: [`${await createVolume(`${RUN_ID}-init-env`)}:/var/lib/postgresql/data`],
        port: portEnv,
      }),
      startPostgres("init-file", {
        env: { ...common, POSTGRES_PASSWORD_FILE: "/run/secrets/superuser-password" },
        mounts: [
          `${await createVolume(`${RUN_ID}-init-file`)}:/var/lib/postgresql/data`,
          `${secrets}:/run/secrets:ro`,
        ],
        port: portFile,
      }),
    ]);

    for (const port of [portEnv, portFile]) {
      const target: PsqlTarget = { port, user: "clusteradmin", password, database: "appdb" };
      expect(
        await psql(
          target,
          "SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user",
        ),
      ).toBe("clusteradmin|appdb|t");
      // The default database of the user is the one POSTGRES_DB created.
      expect(await psql(target, "SELECT count(*) FROM pg_database WHERE datname = 'appdb'")).toBe(
        "1",
      );
      const refused = await psqlResult({ ...target, password: "not-the-password" }, "SELECT 1", {
        allowFailure: true,
      });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('password authentication failed for user "clusteradmin"');
    }

    // The _FILE variant keeps the password out of the container's configuration, and the
    // entrypoint never prints it.
    const { stdout: envJson } = await docker([
      "inspect",
      "--format",
      "{{json .Config.Env}}",
      viaFile,
    ]);
    expect(envJson).not.toContain(password);
    for (const container of [viaEnv, viaFile]) {
      expect(await serverLog(container)).not.toContain(password);
    }
  });

  liveIt("refuses to initialise without a password or with both PASSWORD and _FILE", async () => {
    const secrets = hostDir("secrets-both", { pw: "from-file" });
    const runOnce = async (suffix: string, env: Record<string, string>, mounts: string[] = []) => {
      const name = await startContainer(suffix, { env, mounts });
      const code = await waitForExit(name);
      return { code, log: await serverLog(name) };
    };
    const [none, both] = await Promise.all([
      runOnce("no-password", {}),
      runOnce("both-passwords", { POSTGRES_PASSWORD: "x", POSTGRES_PASSWORD_FILE: "/s/pw" }, [
        `${secrets}:/s:ro`,
      ]),
    ]);
    expect(none.code).not.toBe(0);
    expect(none.log).toMatch(/POSTGRES_PASSWORD/);
    expect(both.code).not.toBe(0);
    expect(both.log).toMatch(/POSTGRES_PASSWORD.*POSTGRES_PASSWORD_FILE/);
  });

  liveIt("leaves a populated data directory alone on restart", async () => {
    const volume = await createVolume(`${RUN_ID}-keep`);
    const port = await freePort(PORT_MIN, PORT_MAX);
    const first = await startPostgres("keep-1", {
      env: { POSTGRES_USER: "keeper", POSTGRES_PASSWORD: "first-password", POSTGRES_DB: "keepdb" },
      mounts: [`${volume}:/var/lib/postgresql/data`],
      port,
    });
    const original: PsqlTarget = {
      port,
      user: "keeper",
      password: "first-password",
      database: "keepdb",
    };
    await psql(original, "CREATE TABLE survivor (note text); INSERT INTO survivor VALUES ('kept')");
    await docker(["stop", first]);
    await docker(["rm", first]);

    // Different settings on the second start must all be ignored: the cluster exists.
    const second = await startPostgres("keep-2", {
      env: {
        POSTGRES_USER: "keeper",
        POSTGRES_PASSWORD: "second-password",
        POSTGRES_DB: "otherdb",
      },
      mounts: [`${volume}:/var/lib/postgresql/data`],
      port,
    });
    expect(await psql(original, "SELECT note FROM survivor")).toBe("kept");
    const withNewPassword = await psqlResult(
      { ...original, password: "second-password" },
      "SELECT 1",
      { allowFailure: true },
    );
    expect(withNewPassword.code).not.toBe(0);
    expect(withNewPassword.stderr).toContain("password authentication failed");
    expect(await psql(original, "SELECT count(*) FROM pg_database WHERE datname = 'otherdb'")).toBe(
      "0",
    );
    // pg_hba.conf got its "host all all all" line once, at initdb, not again on restart.
    const { stdout: hba } = await docker([
      "exec",
      second,
      "cat",
      "/var/lib/postgresql/data/pg_hba.conf",
    ]);
    expect(count(hba, "host all all all scram-sha-256")).toBe(1);
  });

  liveIt("starts a pg_basebackup -R copy as a streaming standby", async () => {
    const network = `${RUN_ID}-net`;
    await docker(["network", "create", ...LABELS, network]);
    // Init scripts of both kinds: a sourced .sh and a .sql, run in name order.
    const initdb = hostDir("primary-initdb", {
      "10-replication-hba.sh":
        "printf 'host replication replicator all scram-sha-256\\n' >> \"$PGDATA/pg_hba.conf\"\n",
      "20-replication-role.sql":
        "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replica-secret';\n",
    });
    const primaryPort = await freePort(PORT_MIN, PORT_MAX);
    const standbyPort = await freePort(PORT_MIN, PORT_MAX);
    const superuser = { user: "postgres", password: "primary-secret", database: "postgres" };
    await startPostgres("primary", {
      env: { POSTGRES_PASSWORD: superuser.password },
      mounts: [
        `${await createVolume(`${RUN_ID}-primary-data`)}:/var/lib/postgresql/data`,
        `${initdb}:/docker-entrypoint-initdb.d:ro`,
      ],
      network,
      port: primaryPort,
    });

    // The copy is made by a throwaway container on the test's own network, as the postgres
    // user so that the files belong to it, exactly as pg_basebackup leaves them.
    const standbyVolume = await createVolume(`${RUN_ID}-standby-data`);
    const backup = await startContainer("basebackup", {
      env: { PGPASSWORD: "replica-secret" },
      mounts: [`${standbyVolume}:/var/lib/postgresql/data`],
      network,
      user: "postgres",
      args: [
        "pg_basebackup",
        "--host=primary",
        "--username=replicator",
        "--pgdata=/var/lib/postgresql/data",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--write-recovery-conf",
      ],
    });
    const backupExit = await waitForExit(backup);
    expect(backupExit).toBe(0);

    const standby = await startPostgres("standby", {
      // Ignored: the data directory is not empty.
      env: { POSTGRES_PASSWORD: "would-be-ignored" },
      mounts: [`${standbyVolume}:/var/lib/postgresql/data`],
      network,
      port: standbyPort,
    });
    const primaryTarget: PsqlTarget = { port: primaryPort, ...superuser };
    const standbyTarget: PsqlTarget = { port: standbyPort, ...superuser };
    expect(await psql(standbyTarget, "SELECT pg_is_in_recovery()")).toBe("t");
    const { code: signalPresent } = await docker(
      ["exec", standby, "test", "-f", "/var/lib/postgresql/data/standby.signal"],
      { allowFailure: true },
    );
    expect(signalPresent).toBe(0);
    // Nothing re-initialised it: no "host all all all" line was appended to the copy.
    const { stdout: hba } = await docker([
      "exec",
      standby,
      "cat",
      "/var/lib/postgresql/data/pg_hba.conf",
    ]);
    expect(count(hba, "host all all all scram-sha-256")).toBe(1);

    const marker = `row-${RUN_ID}`;
    await psql(
      primaryTarget,
      `CREATE TABLE replicated (v text); INSERT INTO replicated VALUES ('${marker}')`,
    );
    await waitUntil(async () => {
      const seen = await psqlResult(standbyTarget, "SELECT v FROM replicated", {
        allowFailure: true,
      });
      return seen.code === 0 && seen.stdout.trim() === marker;
    }, "the row written on the primary did not reach the standby");
    expect(await psql(primaryTarget, "SELECT usename, state FROM pg_stat_replication")).toBe(
      "replicator|streaming",
    );
  });

  liveIt("runs the server as the postgres user with PGDATA mode 0700", async () => {
    // PGDATA=/data as in the project: a fresh volume there starts out owned by root.
    const container = await startPostgres("owner", {
      env: { POSTGRES_PASSWORD: "owner-secret", PGDATA: "/data" },
      mounts: [`${await createVolume(`${RUN_ID}-owner-data`)}:/data`],
    });
    const { stdout: postgresUid } = await docker(["exec", container, "id", "-u", "postgres"]);
    expect(postgresUid.trim()).not.toBe("0");

    // The postmaster is PID 1 (so docker stop's signal reaches it) and is not root.
    const { stdout: pid1 } = await docker(["exec", container, "ps", "-o", "uid=,comm=", "-p", "1"]);
    expect(pid1.trim().split(/\s+/)).toEqual([postgresUid.trim(), "postgres"]);
    const { stdout: status } = await docker(["exec", container, "cat", "/proc/1/status"]);
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    expect(uids?.slice(1)).toEqual([postgresUid.trim(), postgresUid.trim()]);
    // No process of the container runs as root once the server is up.
    const { stdout: all } = await docker(["exec", container, "ps", "-e", "-o", "uid=,args="]);
    const serverRows = all
      .split("\n")
      .filter((line) => line.includes("postgres"))
      .map((line) => line.trim().split(/\s+/)[0]);
    expect(serverRows.length).toBeGreaterThan(1);
    expect(new Set(serverRows)).toEqual(new Set([postgresUid.trim()]));

    const { stdout: mode } = await docker(["exec", container, "stat", "-c", "%a %U", "/data"]);
    expect(mode.trim()).toBe("700 postgres");
  });

  liveIt("passes container arguments to postgres, also during first-start init", async () => {
    const config = hostDir("config", {
      "postgresql.conf": [
        "listen_addresses = '*'",
        "hba_file = '/config/pg_hba.conf'",
        "work_mem = '7777kB'",
        "lc_messages = 'en_US.utf8'",
        "",
      ].join("\n"),
      // Password-only even on the socket: init must find this file and use PGPASSWORD.
      "pg_hba.conf": ["local all all scram-sha-256", "host all all all scram-sha-256", ""].join(
        "\n",
      ),
    });
    // Records what the temporary init-time server saw.
    const initdb = hostDir("config-initdb", {
      "record.sql":
        "CREATE TABLE init_seen AS SELECT current_setting('config_file') AS config_file, " +
        "current_setting('hba_file') AS hba_file, current_setting('work_mem') AS work_mem, " +
        "current_setting('cluster_name') AS cluster_name;\n",
    });
    const port = await freePort(PORT_MIN, PORT_MAX);
    const target: PsqlTarget = {
      port,
      user: "postgres",
      password: "config-secret",
      database: "postgres",
    };
    await startPostgres("config", {
      env: { POSTGRES_PASSWORD: target.password },
      mounts: [
        `${await createVolume(`${RUN_ID}-config-data`)}:/var/lib/postgresql/data`,
        `${config}:/config:ro`,
        `${initdb}:/docker-entrypoint-initdb.d:ro`,
      ],
      port,
      // A value with a quote and spaces checks the quoting of the init-time server's options.
      args: ["-c", "config_file=/config/postgresql.conf", "-c", "cluster_name=it's a test"],
    });

    expect(await psql(target, "SHOW work_mem")).toBe("7777kB");
    expect(await psql(target, "SHOW hba_file")).toBe("/config/pg_hba.conf");
    expect(await psql(target, "SHOW cluster_name")).toBe("it's a test");
    // Same locale defaults as the official image (LANG=en_US.utf8).
    expect(await psql(target, "SHOW lc_messages")).toBe("en_US.utf8");
    expect(
      await psql(target, "SELECT datcollate FROM pg_database WHERE datname = 'postgres'"),
    ).toBe("en_US.utf8");
    expect(await psql(target, "SELECT * FROM init_seen")).toBe(
      "/config/postgresql.conf|/config/pg_hba.conf|7777kB|it's a test",
    );
  });

  liveIt("shuts down fast on docker stop, even with a client connected", async () => {
    const port = await freePort(PORT_MIN, PORT_MAX);
    const target: PsqlTarget = {
      port,
      user: "postgres",
      password: "stop-secret",
      database: "postgres",
    };
    const container = await startPostgres("stop", {
      env: { POSTGRES_PASSWORD: target.password },
      port,
    });
    const fastShutdowns = async () =>
      count(await serverLog(container), "received fast shutdown request");
    // One already: the init-time temporary server is stopped with -m fast.
    const before = await fastShutdowns();

    // A smart shutdown (SIGTERM) would wait for this session; a fast one ends it.
    const session = psqlResult(target, "SELECT pg_sleep(60)", { allowFailure: true });
    await waitUntil(
      async () =>
        (await psql(
          target,
          "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()",
        )) === "1",
      "the sleeping session did not show up",
    );

    const started = Date.now();
    await docker(["stop", "--time", "20", container]);
    const elapsedMs = Date.now() - started;
    await session;

    expect(elapsedMs).toBeLessThan(5_000);
    const { stdout: exitCode } = await docker([
      "inspect",
      "--format",
      "{{.State.ExitCode}}",
      container,
    ]);
    expect(exitCode.trim()).toBe("0");
    expect(await fastShutdowns()).toBe(before + 1);
    expect(await serverLog(container)).toContain("database system is shut down");
  });

  liveIt("runs other commands unchanged and treats leading options as postgres args", async () => {
    const name = `${RUN_ID}-passthrough`;
    const { stdout: user } = await docker([
      "run",
      "--rm",
      "--name",
      name,
      ...LABELS,
      IMAGE,
      "id",
      "-un",
    ]);
    expect(user.trim()).toBe("root");
    const { stdout: version } = await docker([
      "run",
      "--rm",
      "--name",
      name,
      ...LABELS,
      IMAGE,
      "--version",
    ]);
    expect(version).toMatch(/^postgres \(PostgreSQL\) 15\./);
  });
});
