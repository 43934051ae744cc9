/**
 * Security checks (live): one deployment with given passwords, then what the README promises,
 * checked on every instance from the outside (psql through the published ports, docker).
 */
import { randomBytes } from "crypto";
import { docker, pgTool, psqlResult, run, shellOnVolume, testImage } from "../support/docker";
import { LiveDeployment } from "./drivers/live-driver";
import { Cluster, removeLeftovers } from "./support/cluster";
import { liveSuiteGate, sqlIn, timed } from "./support/faults";

const { describeLive, unavailable } = liveSuiteGate("the live security checks");

const NAME = "prt-sec-main";
const BASE_PORT = 15900;
const SUPERUSER = "postgresadmin";
const REPLICATION_USER = "replicationUser";
const REWIND_USER = "rewinder";
const INSTANCES = [1, 2];

describeLive("security checks (live harness)", () => {
  const image = testImage();
  // Distinctive, fresh every run: a match anywhere can only come from this deployment.
  const superuserPassword = `SuPw${randomBytes(12).toString("hex")}`;
  const replicationPassword = `RePw${randomBytes(12).toString("hex")}`;
  const rewindPassword = `RwPw${randomBytes(12).toString("hex")}`;
  const passwords: Record<string, string> = {
    superuserPassword,
    replicationPassword,
    rewindPassword,
  };
  let deployment: LiveDeployment;
  let c: Cluster;
  let started = 0;

  jest.setTimeout(5 * 60 * 1000);

  beforeAll(async () => {
    if (unavailable) throw new Error(`live security checks cannot run under CI: ${unavailable}`);
    started = Date.now();
    await removeLeftovers(NAME);
    deployment = new LiveDeployment({ stack: NAME });
    const result = await deployment.up(
      { clusterName: NAME, hostPort: BASE_PORT, image, standbys: 1 },
      { secrets: { superuserPassword, replicationPassword, rewindPassword } },
    );
    c = new Cluster(NAME, result);
    timed("deploy", started, "security");
  });

  afterAll(async () => {
    try {
      if (deployment) await deployment.destroy();
    } finally {
      if (deployment) await deployment.dispose();
      await removeLeftovers(NAME);
      if (started) timed("whole suite", started, "security");
    }
  });

  const container = (n: number) => `${NAME}-${n}`;
  /** login, replication, superuser, createrole, createdb, bypassrls, inherit, connection limit */
  const roleAttributes = (n: number, role: string) =>
    c.sql(
      n,
      "select concat_ws(',', rolcanlogin, rolreplication, rolsuper, rolcreaterole, " +
        "rolcreatedb, rolbypassrls, rolinherit, rolconnlimit) " +
        `from pg_roles where rolname = '${role}'`,
    );
  const memberships = (n: number, role: string) =>
    c.sql(
      n,
      "select count(*) from pg_auth_members m join pg_roles r on r.oid in (m.member, m.roleid) " +
        `where r.rolname = '${role}'`,
    );

  test("pg_hba: nothing trusted, no md5/password over TCP, no open address", async () => {
    for (const n of INSTANCES) {
      expect(await c.sql(n, "show hba_file")).toBe("/config/pg_hba.conf");
      const rules = (
        await c.sql(
          n,
          "select type || '|' || coalesce(array_to_string(database, ','), '') || '|' || " +
            "coalesce(array_to_string(user_name, ','), '') || '|' || coalesce(address, '') || '|' || " +
            "coalesce(netmask, '') || '|' || coalesce(auth_method, '') || '|' || coalesce(error, '') " +
            "from pg_hba_file_rules order by line_number",
        )
      )
        .split("\n")
        .map((line) => {
          const [type, database, user, address, netmask, method, error] = line.split("|");
          return { type, database, user, address, netmask, method, error };
        });
      expect(rules.length).toBeGreaterThan(0);
      expect(rules.filter((r) => r.error !== "")).toEqual([]);
      const tcp = rules.filter((r) => r.type.startsWith("host"));
      expect(tcp.length).toBeGreaterThan(0);
      expect(tcp.filter((r) => ["trust", "password", "md5"].includes(r.method))).toEqual([]);
      const open = tcp.filter(
        (r) =>
          r.address === "all" ||
          r.address === "" ||
          (r.address === "0.0.0.0" && r.netmask === "0.0.0.0") ||
          (r.address === "::" && r.netmask === "::") ||
          /^(0\.0\.0\.0|::)\/0$/.test(r.address),
      );
      expect(open).toEqual([]);
      // Not even the local socket trusts anyone.
      expect(rules.filter((r) => r.method === "trust")).toEqual([]);
    }
  });

  test("every stored password is SCRAM-SHA-256", async () => {
    for (const n of INSTANCES) {
      expect(
        await c.sql(
          n,
          "select rolname from pg_authid where rolpassword is not null " +
            "and rolpassword not like 'SCRAM-SHA-256$%'",
        ),
      ).toBe("");
      // The three roles do have a password (so the check above is not vacuous).
      expect(
        await c.sql(
          n,
          "select count(*) from pg_authid where rolname in " +
            `('${SUPERUSER}', '${REPLICATION_USER}', '${REWIND_USER}') ` +
            "and rolpassword like 'SCRAM-SHA-256$%'",
        ),
      ).toBe("3");
    }
  });

  test("the rewind role may read files through pg_rewind's four functions, in database postgres only", async () => {
    const functions = [
      "pg_catalog.pg_ls_dir(text, boolean, boolean)",
      "pg_catalog.pg_stat_file(text, boolean)",
      "pg_catalog.pg_read_binary_file(text)",
      "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
    ];
    for (const n of INSTANCES) {
      expect(await roleAttributes(n, REWIND_USER)).toBe("t,f,f,f,f,f,f,-1");
      expect(await memberships(n, REWIND_USER)).toBe("0");
      const port = c.instances[n - 1].hostPort;
      const asRewinder = (database: string, sql: string) =>
        psqlResult({ port, user: REWIND_USER, password: rewindPassword, database }, sql, {
          allowFailure: true,
        });
      const granted = await asRewinder(
        "postgres",
        "select concat_ws(','," +
          functions.map((f) => `has_function_privilege('${f}', 'execute')`).join(",") +
          ", has_function_privilege('pg_catalog.pg_read_file(text)', 'execute')" +
          ", (select count(*) > 0 from pg_ls_dir('.', false, false)))",
      );
      expect(granted.stderr).toBe("");
      expect(granted.stdout.trim()).toBe("t,t,t,t,f,t");
      const denied = await asRewinder("postgres", "select count(*) from pg_authid");
      expect(denied.stderr).toMatch(/permission denied/);
      const otherDatabase = await asRewinder("postgresdb", "select 1");
      expect(otherDatabase.code).not.toBe(0);
      expect(otherDatabase.stderr).toMatch(/pg_hba\.conf rejects connection/);
    }
  });

  test("the replication role may replicate and nothing else", async () => {
    for (const n of INSTANCES) {
      expect(await roleAttributes(n, REPLICATION_USER)).toBe("t,t,f,f,f,f,f,5");
      expect(await memberships(n, REPLICATION_USER)).toBe("0");
    }

    for (const n of INSTANCES) {
      const port = c.instances[n - 1].hostPort;
      for (const database of ["postgresdb", "postgres"]) {
        const refused = await psqlResult(
          { port, user: REPLICATION_USER, password: replicationPassword, database },
          "select 1",
          { allowFailure: true },
        );
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/pg_hba\.conf rejects connection/);
      }
      // A physical replication connection with the same credentials works.
      const replication = await run(
        pgTool("psql"),
        [
          "-X",
          "-A",
          "-t",
          "-c",
          "IDENTIFY_SYSTEM",
          `host=127.0.0.1 port=${port} user=${REPLICATION_USER} dbname=postgresdb replication=true`,
        ],
        {
          env: { PGPASSWORD: replicationPassword, PGCONNECT_TIMEOUT: "5", PGSSLMODE: "disable" },
          allowFailure: true,
        },
      );
      expect(replication.stderr).toBe("");
      expect(replication.code).toBe(0);
      expect(replication.stdout).toMatch(/^\d+\|\d+\|[0-9A-F]+\/[0-9A-F]+\|/);
      // And a wrong password is refused.
      const wrong = await run(
        pgTool("psql"),
        [
          "-X",
          "-c",
          "IDENTIFY_SYSTEM",
          `host=127.0.0.1 port=${port} user=${REPLICATION_USER} dbname=postgresdb replication=true`,
        ],
        {
          env: { PGPASSWORD: "not-the-password", PGCONNECT_TIMEOUT: "5", PGSSLMODE: "disable" },
          allowFailure: true,
        },
      );
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/password authentication failed/);
    }
  });

  test("no password in data directories, the WAL archive, container logs, inspect or harness output", async () => {
    const volumes = [...INSTANCES.map((n) => `${NAME}-${n}-data`), `${NAME}-backup`];
    // The password reaches grep through the environment, never as an argument.
    const grepVolume = async (volume: string, password: string) =>
      (
        await shellOnVolume(
          image,
          volume,
          "/data",
          'grep -rlF -- "$PW" /data; echo "grep exit $?"',
          {
            env: { PW: password },
            pass: ["PW"],
            timeoutMs: 120_000,
          },
        )
      ).stdout.trim();
    // Positive control: the config volume holds the password files by design, so the same
    // search must find them there.
    expect(await grepVolume(`${NAME}-1-config`, superuserPassword)).toMatch(
      /\/data\/superuser\.password\n(.*\n)*grep exit 0$/,
    );
    for (const [which, password] of Object.entries(passwords)) {
      for (const volume of volumes) {
        // grep exits 1 when nothing matched (0: a match, 2: an error such as an unreadable file).
        expect({ which, volume, found: await grepVolume(volume, password) }).toEqual({
          which,
          volume,
          found: "grep exit 1",
        });
      }
      for (const n of INSTANCES) {
        const logs = await docker(["logs", container(n)]);
        expect({ which, n, inLogs: `${logs.stdout}${logs.stderr}`.includes(password) }).toEqual({
          which,
          n,
          inLogs: false,
        });
        const inspected = (await docker(["inspect", container(n)])).stdout;
        expect(inspected).toContain("POSTGRES_PASSWORD_FILE"); // the env is really in there
        expect({ which, n, inInspect: inspected.includes(password) }).toEqual({
          which,
          n,
          inInspect: false,
        });
      }
      expect(deployment.output.length).toBeGreaterThan(0);
      expect({ which, inHarnessOutput: deployment.output.includes(password) }).toEqual({
        which,
        inHarnessOutput: false,
      });
    }
  });

  test("published ports are bound to 127.0.0.1 only", async () => {
    for (const n of INSTANCES) {
      const lines = (await docker(["port", container(n)])).stdout
        .split("\n")
        .filter((l) => l.trim() !== "");
      expect(lines).toEqual([`5432/tcp -> 127.0.0.1:${BASE_PORT + n - 1}`]);
    }
  });

  test("the server runs as the postgres user and the data directory is 0700", async () => {
    for (const n of INSTANCES) {
      const postgresUid = (
        await docker(["exec", container(n), "id", "-u", "postgres"])
      ).stdout.trim();
      expect(postgresUid).toMatch(/^\d+$/);
      expect(postgresUid).not.toBe("0");
      const processes = (await docker(["top", container(n), "-eo", "pid,uid,args"])).stdout
        .split("\n")
        .slice(1)
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .map((l) => {
          const [pid, uid, ...args] = l.split(/\s+/);
          return { pid, uid, args: args.join(" ") };
        });
      const server = processes.filter((p) => /^postgres(:|\s|$)/.test(p.args));
      // The postmaster and its background processes (checkpointer, walwriter, ...).
      expect(server.length).toBeGreaterThan(3);
      expect(server.filter((p) => p.uid !== postgresUid)).toEqual([]);
      // PID 1 of the container is the postmaster itself, not a root shell around it.
      expect(
        (await docker(["exec", container(n), "ps", "-o", "user=", "-p", "1"])).stdout.trim(),
      ).toBe("postgres");
      expect(await sqlIn(container(n), SUPERUSER, "select current_setting('data_directory')")).toBe(
        "/data",
      );
      expect(
        (await docker(["exec", container(n), "stat", "-c", "%a", "/data"])).stdout.trim(),
      ).toBe("700");
    }
  });
});
