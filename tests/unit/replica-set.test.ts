import * as pulumi from "@pulumi/pulumi";

import {
  installMocks,
  recordProgram,
  RegisteredResource,
  resolve,
} from "./support/recording-mocks";

installMocks();
// Each test runs whole programs under the mock runtime; on a loaded 2-core machine (live
// tests running beside) one can take longer than jest's default 5 s.
jest.setTimeout(30_000);

// Imported after the mocks are installed, as Pulumi's unit-testing guide prescribes.
import {
  PostgresReplicaSet,
  PostgresReplicaSetArgs,
  REPLICA_SET_TYPE,
} from "../../components/postgres-replica-set";
import { goDuration } from "../../components/go-duration";
import { SCRIPT_VARIABLE } from "../../components/scripts";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:local:Command";
const NETWORK = "docker:index/network:Network";
/** The PostgreSQL instances' containers (the endpoint proxy is the other container). */
const instanceContainers = (resources: RegisteredResource[]) =>
  resources.filter((r) => r.type === CONTAINER && /-\d+$/.test(r.name));

async function deploy(
  args: PostgresReplicaSetArgs,
  name = "postgres",
): Promise<{ set: PostgresReplicaSet; resources: RegisteredResource[] }> {
  let set: PostgresReplicaSet | undefined;
  const resources = await recordProgram(() => {
    set = new PostgresReplicaSet(name, args);
  });
  return { set: set!, resources };
}

const byName = (resources: RegisteredResource[], name: string): RegisteredResource => {
  const found = resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
const dependsOn = (resources: RegisteredResource[], from: string, to: string) =>
  byName(resources, from).dependencies.includes(byName(resources, to).name);
const env = (r: RegisteredResource) => (r.inputs.environment ?? {}) as Record<string, string>;
/** Whether `from` waits for `to`, directly or through other resources. */
const reaches = (resources: RegisteredResource[], from: string, to: string): boolean => {
  const seen = new Set<string>();
  const walk = (name: string): boolean =>
    byName(resources, name).dependencies.some(
      (d) => d === to || (!seen.has(d) && (seen.add(d), walk(d))),
    );
  return walk(from);
};

function expectedInventory(standbys: number): string[] {
  const names = [
    "postgres",
    "postgres-network",
    "postgres-fixed-settings",
    "postgres-primary-image",
    "postgres-image",
    "postgres-image-id",
    "postgres-backup-repository",
    "postgres-backup-kept",
    "postgres-engine-image",
    "postgres-backup-config",
    "postgres-backup-configure",
    "postgres-backup-stanza",
    "postgres-backup",
    "postgres-superuser-password",
    "postgres-replication-password",
    "postgres-rewind-password",
    "postgres-probe-password",
    "postgres-promote",
    "postgres-roles",
    "postgres-check",
    "postgres-proxy-config",
    "postgres-proxy-configure",
    "postgres-proxy",
    "postgres-endpoints",
  ];
  for (let n = 1; n <= standbys + 1; n++) {
    names.push(
      `postgres-${n}`,
      `postgres-${n}-data`,
      `postgres-${n}-config`,
      `postgres-${n}-configure`,
      `postgres-${n}-ready`,
    );
    if (n > 1) names.push(`postgres-${n}-slot`, `postgres-${n}-join`, `postgres-${n}-streaming`);
  }
  return names.sort();
}

describe("inventory", () => {
  test.each([0, 1, 4])(
    "standbys = %i registers exactly the expected resources",
    async (standbys) => {
      const { resources } = await deploy({ standbys });
      expect(resources.map((r) => r.name).sort()).toEqual(expectedInventory(standbys));
    },
  );

  test("every child is parented to the component", async () => {
    const { resources } = await deploy({ standbys: 2 });
    const component = byName(resources, "postgres");
    expect(component.type).toBe(REPLICA_SET_TYPE);
    for (const r of resources.filter((x) => x !== component)) {
      expect([r.name, r.parent]).toEqual([r.name, component.name]);
    }
  });

  test("Docker objects carry the contract's names and the cluster label", async () => {
    const { resources } = await deploy({ standbys: 1, clusterName: "pg" }, "pg");
    const dockerNames = resources
      .filter(
        (r) =>
          r.type.startsWith("docker:index/") && r.type !== "docker:index/remoteImage:RemoteImage",
      )
      .map((r) => r.inputs.name)
      .sort();
    expect(dockerNames).toEqual(
      [
        "pg",
        "pg-1",
        "pg-1-config",
        "pg-1-data",
        "pg-2",
        "pg-2-config",
        "pg-2-data",
        "pg-backup",
        "pg-backup",
        "pg-backup-config",
        "pg-proxy",
        "pg-proxy-config",
      ].sort(),
    );
    for (const r of resources.filter(
      (x) => x.type.startsWith("docker:index/") && x.inputs.labels,
    )) {
      expect(r.inputs.labels).toContainEqual({
        label: "postgres-replication.cluster",
        value: "pg",
      });
    }
  });

  test("containers follow the tutorial: PGDATA=/data, config_file, mounts, image by ID", async () => {
    const { resources } = await deploy({ standbys: 1 });
    const container = byName(resources, "postgres-2");
    expect(container.inputs.image).toBe("sha256:engine-image");
    expect(container.inputs.envs).toContain("PGDATA=/data");
    expect(container.inputs.envs).toContain("POSTGRES_USER=postgresadmin");
    expect(container.inputs.envs).toContain("POSTGRES_DB=postgresdb");
    expect(container.inputs.command).toEqual(["-c", "config_file=/config/postgresql.conf"]);
    const targets = (container.inputs.mounts as { target: string }[]).map((m) => m.target);
    expect(targets.sort()).toEqual(["/config", "/data", "/mnt/server/archive"]);
    expect(container.inputs.wait).toBe(false);
    expect(container.inputs.restart).toBe("unless-stopped");
    expect(container.inputs.destroyGraceSeconds).toBe(60);
    expect(container.deleteBeforeReplace).toBe(true);
    expect(JSON.stringify(container.inputs.healthcheck)).toContain("pg_isready");
  });

  test("healthcheck durations are written as the docker provider reads them back", async () => {
    const { resources } = await deploy({ standbys: 1 });
    for (const r of instanceContainers(resources)) {
      expect(r.inputs.healthcheck).toMatchObject({
        interval: "2s",
        timeout: "5s",
        startPeriod: "10m0s",
      });
    }
  });

  test("containers run the image ID pinned when `image` was set, not the RemoteImage's", async () => {
    const noBackups = {
      enabled: false,
      schedule: "0 3 * * *",
      retentionFull: 2,
      keepOnDestroy: true,
    };
    const { resources } = await deploy({ standbys: 1, backup: noBackups });
    for (const r of instanceContainers(resources)) {
      expect(r.inputs.image).toBe("sha256:pinned-image");
      expect(reaches(resources, r.name, "postgres-image-id")).toBe(true);
      expect(r.dependencies).not.toContain("postgres-image");
    }
    const pin = byName(resources, "postgres-image-id");
    expect(env(pin).IMAGE).toBe("postgres:15");
    expect(pin.dependencies).toEqual(["postgres-image"]);
    // Only the proxy runs the engines' image (HAProxy) without backups.
    expect(byName(resources, "postgres-proxy").inputs.image).toBe("sha256:engine-image");
  });

  test("with backups on, instances and the backup container run the engines' image derived from the pinned one", async () => {
    const { resources } = await deploy({ standbys: 1 });
    expect(env(byName(resources, "postgres-engine-image")).BASE_IMAGE).toBe("sha256:pinned-image");
    for (const r of [...instanceContainers(resources), byName(resources, "postgres-backup")]) {
      expect([r.name, r.inputs.image]).toEqual([r.name, "sha256:engine-image"]);
    }
  });

  test("nothing that holds data exists before the image; fixed names are deleted before replacement", async () => {
    const { resources } = await deploy({ standbys: 1 });
    const fixed = resources.filter((r) => r.type === VOLUME || r.type === NETWORK);
    expect(fixed).toHaveLength(8);
    for (const r of fixed) {
      expect([r.name, r.dependencies]).toEqual([r.name, ["postgres-image"]]);
      expect([r.name, r.deleteBeforeReplace]).toEqual([r.name, true]);
    }
    for (const name of ["postgres-1-data", "postgres-2-data", "postgres-backup-repository"]) {
      expect(byName(resources, name).ignoreChanges.sort()).toEqual([
        "driver",
        "driverOpts",
        "labels",
      ]);
    }
  });

  test("without the archive there is no archive volume and no archive mount", async () => {
    const { resources } = await deploy({ walArchive: false, replicationSlots: false });
    expect(resources.filter((r) => r.type === VOLUME).map((r) => r.name)).not.toContain(
      "postgres-wal-archive",
    );
    expect(resources.map((r) => r.name)).not.toContain("postgres-2-slot");
    const mounts = byName(resources, "postgres-1").inputs.mounts as { target: string }[];
    expect(mounts.map((m) => m.target)).not.toContain("/mnt/server/archive");
  });
});

describe("ordering", () => {
  test("a base backup waits for the healthy primary, the replication user and its slot", async () => {
    const { resources } = await deploy({ standbys: 2 });
    expect(dependsOn(resources, "postgres-1-ready", "postgres-1")).toBe(true);
    expect(dependsOn(resources, "postgres-promote", "postgres-1-ready")).toBe(true);
    for (const n of [2, 3]) {
      expect(dependsOn(resources, `postgres-${n}-join`, "postgres-roles")).toBe(true);
      expect(dependsOn(resources, `postgres-${n}-join`, "postgres-promote")).toBe(true);
      expect(dependsOn(resources, `postgres-${n}-join`, `postgres-${n}-slot`)).toBe(true);
      expect(dependsOn(resources, `postgres-${n}-join`, `postgres-${n}-configure`)).toBe(true);
      expect(dependsOn(resources, `postgres-${n}-join`, `postgres-${n}-ready`)).toBe(true);
      expect(dependsOn(resources, `postgres-${n}-streaming`, `postgres-${n}-ready`)).toBe(true);
      expect(dependsOn(resources, "postgres-check", `postgres-${n}-streaming`)).toBe(true);
      expect(dependsOn(resources, "postgres-check", `postgres-${n}-slot`)).toBe(true);
    }
    expect(dependsOn(resources, "postgres-roles", "postgres-promote")).toBe(true);
    expect(dependsOn(resources, "postgres-1", "postgres-1-configure")).toBe(true);
  });

  test("a standby's container waits for nothing of the primary's: it clones itself at its first start", async () => {
    const { resources } = await deploy({ standbys: 2 });
    const primaryResources = [
      "postgres-1",
      "postgres-1-ready",
      "postgres-promote",
      "postgres-roles",
    ];
    for (const n of [2, 3]) {
      for (const p of [...primaryResources, `postgres-${n}-slot`, `postgres-${n}-join`]) {
        expect([n, p, reaches(resources, `postgres-${n}`, p)]).toEqual([n, p, false]);
      }
      expect(dependsOn(resources, `postgres-${n}`, `postgres-${n}-configure`)).toBe(true);
      // A primary failing on a bad setting is restarted by its configure step; a standby's
      // readiness (which gives up on a primary that keeps restarting) waits for it.
      expect(dependsOn(resources, `postgres-${n}-ready`, "postgres-1-configure")).toBe(true);
    }
  });

  test("a new image reaches the primary only through a Command that waits for every standby", async () => {
    const { resources } = await deploy({ standbys: 2 });
    const pin = byName(resources, "postgres-primary-image");
    expect(byName(resources, "postgres-1").inputs.image).toBe("sha256:engine-image");
    expect(dependsOn(resources, "postgres-1", "postgres-primary-image")).toBe(true);
    expect(pin.dependencies).toEqual(expect.arrayContaining(["postgres-2", "postgres-3"]));
    expect(env(pin).IMAGE).toBe("sha256:engine-image");
    // Found by label at run time: an input that changed with scaling or roles would show the
    // primary's container as replaced in every preview of such a change.
    expect(env(pin).CLUSTER).toBe("postgres");
    expect(Object.keys(env(pin)).sort()).toEqual(
      ["CLUSTER", "IMAGE", "POSTGRES_REPLICATION_SCRIPT", "SUPERUSER", "TIMEOUT_SECONDS"].sort(),
    );
    expect(pin.inputs.update).toMatch(/primary-image update$/);
    // The update compares the new image with the one printed before.
    expect(pin.inputs.addPreviousOutputInEnv).toBe(true);
    for (const n of [2, 3]) {
      expect(reaches(resources, `postgres-${n}`, "postgres-primary-image")).toBe(false);
    }
    // A role change leaves the pin as it is: its output stays known in a preview, so no
    // container shows as replaced.
    const switched = (await deploy({ standbys: 2, primary: 3 })).resources;
    expect(byName(switched, "postgres-primary-image").inputs).toEqual(pin.inputs);
    expect(dependsOn(switched, "postgres-3", "postgres-primary-image")).toBe(true);
  });

  test("the proxy and the backup container are configured once the primary's container exists", async () => {
    const { resources } = await deploy({ standbys: 2 });
    for (const configure of ["postgres-proxy-configure", "postgres-backup-configure"]) {
      expect(dependsOn(resources, configure, "postgres-1")).toBe(true);
    }
    expect(reaches(resources, "postgres-1", "postgres-proxy-configure")).toBe(false);
  });

  test("the stanza runs beside the standbys' clones; the endpoints check and the backup container beside the cluster check, not after it", async () => {
    const { resources } = await deploy({ standbys: 2 });
    expect(dependsOn(resources, "postgres-backup-stanza", "postgres-promote")).toBe(true);
    expect(reaches(resources, "postgres-backup-stanza", "postgres-check")).toBe(false);
    expect(reaches(resources, "postgres-backup-stanza", "postgres-2-ready")).toBe(false);
    expect(reaches(resources, "postgres-backup", "postgres-check")).toBe(false);
    expect(reaches(resources, "postgres-endpoints", "postgres-check")).toBe(false);
    for (const n of [2, 3]) {
      expect(dependsOn(resources, "postgres-endpoints", `postgres-${n}-streaming`)).toBe(true);
      expect(dependsOn(resources, "postgres-backup", `postgres-${n}-streaming`)).toBe(true);
    }
  });

  test("the primary is configured after the standbys, so a restart reaches it last", async () => {
    const { resources } = await deploy({ standbys: 2 });
    expect(dependsOn(resources, "postgres-1-configure", "postgres-2-configure")).toBe(true);
    expect(dependsOn(resources, "postgres-1-configure", "postgres-3-configure")).toBe(true);
  });
});

describe("security", () => {
  const given = {
    superuserPassword: pulumi.secret("Given-superuser-Pw"),
    replicationPassword: pulumi.secret("Given-repl-Pw"),
  };

  test("published ports bind to bindAddress, one per instance from hostPort", async () => {
    const { resources } = await deploy({ standbys: 2, hostPort: 6000, bindAddress: "127.0.0.2" });
    const ports = instanceContainers(resources)
      .flatMap((r) => r.inputs.ports as { ip: string; external: number; internal: number }[])
      .sort((a, b) => a.external - b.external);
    expect(ports).toEqual([
      { internal: 5432, external: 6000, ip: "127.0.0.2", protocol: "tcp" },
      { internal: 5432, external: 6001, ip: "127.0.0.2", protocol: "tcp" },
      { internal: 5432, external: 6002, ip: "127.0.0.2", protocol: "tcp" },
    ]);
  });

  test("every output that carries a password is secret; the others are not", async () => {
    const { set } = await deploy({ standbys: 1, ...given });
    for (const output of [
      set.connectionString,
      set.readWriteUri,
      set.readOnlyUri,
      set.superuserPassword,
      set.replicationPassword,
    ]) {
      expect(await pulumi.isSecret(output)).toBe(true);
    }
    expect(await pulumi.isSecret(set.primaryEndpoint)).toBe(false);
    expect(await resolve(set.superuserPassword)).toBe("Given-superuser-Pw");
  });

  test("passwords are generated with @pulumi/random when not given", async () => {
    const { set, resources } = await deploy({ standbys: 1 });
    const generated = resources.filter(
      (r) => r.type === "random:index/randomPassword:RandomPassword",
    );
    expect(generated.map((r) => r.name).sort()).toEqual([
      "postgres-probe-password",
      "postgres-replication-password",
      "postgres-rewind-password",
      "postgres-superuser-password",
    ]);
    expect(generated[0].inputs.length).toBeGreaterThanOrEqual(24);
    expect(await resolve(set.superuserPassword)).toBe("generated-postgres-superuser-password");
  });

  test("no password appears in command text or container inputs; commands holding one log nothing", async () => {
    const { resources } = await deploy({ standbys: 2, ...given });
    const holders = resources.filter((r) =>
      Object.values(env(r)).some((v) => v === "Given-superuser-Pw"),
    );
    expect(holders.map((r) => r.name).sort()).toEqual([
      "postgres-1-configure",
      "postgres-2-configure",
      "postgres-3-configure",
      "postgres-backup-configure",
      "postgres-roles",
    ]);
    const secrets = ["Given-superuser-Pw", "Given-repl-Pw"];
    for (const r of resources.filter((x) => x.type === COMMAND)) {
      const text = [r.inputs.create, r.inputs.update, r.inputs.delete, r.inputs.stdin].join("\n");
      for (const secret of secrets) expect(text).not.toContain(secret);
      // The providers quote the command line in every failure message: one short line.
      expect([r.name, String(r.inputs.create).length < 120]).toEqual([r.name, true]);
      // Only the fixed-settings guard and the primary's image pin read their previous output
      // (one short line each).
      const readsPrevious = ["postgres-fixed-settings", "postgres-primary-image"].includes(r.name);
      expect([r.name, r.inputs.addPreviousOutputInEnv]).toEqual([r.name, readsPrevious]);
      const holdsSecret = Object.values(env(r)).some((v) => secrets.includes(v));
      if (holdsSecret) {
        expect([r.name, r.inputs.logging]).toEqual([r.name, "none"]);
        expect([r.name, r.secretInputs]).toEqual([r.name, ["environment"]]);
        expect([r.name, r.additionalSecretOutputs.sort()]).toEqual([r.name, ["stderr", "stdout"]]);
      }
    }
    for (const r of resources.filter((x) => x.type === CONTAINER)) {
      for (const secret of secrets) expect(JSON.stringify(r.inputs)).not.toContain(secret);
    }
  });

  test("connection URIs are libpq URIs with the password URL-encoded", async () => {
    const { set } = await deploy({
      standbys: 1,
      superuserPassword: pulumi.secret("a b'$\\\"@"),
    });
    expect(await resolve(set.connectionString)).toBe(
      "postgresql://postgresadmin:a%20b'%24%5C%22%40@127.0.0.1:5000/postgresdb",
    );
    expect(await resolve(set.readWriteUri)).toBe(
      "postgresql://postgresadmin:a%20b'%24%5C%22%40@127.0.0.1:5000,127.0.0.1:5001/postgresdb?target_session_attrs=read-write",
    );
    expect(await resolve(set.readOnlyUri)).toMatch(/target_session_attrs=prefer-standby$/);
  });
});

describe("endpoints", () => {
  test("the proxy publishes read-write on endpointPort and read-only on the next port", async () => {
    const { resources, set } = await deploy({ standbys: 1, endpointPort: 6100 });
    const proxy = byName(resources, "postgres-proxy");
    expect(proxy.inputs.name).toBe("postgres-proxy");
    expect(proxy.inputs.ports).toEqual([
      { internal: 5432, external: 6100, ip: "127.0.0.1", protocol: "tcp" },
      { internal: 5433, external: 6101, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(proxy.inputs.image).toBe("sha256:engine-image");
    expect(proxy.deleteBeforeReplace).toBe(true);
    expect(await resolve(set.readWriteEndpoint)).toBe("127.0.0.1:6100");
    expect(await resolve(set.readOnlyEndpoint)).toBe("127.0.0.1:6101");
  });

  test("the proxy is built from the pinned image and holds only the probe's password", async () => {
    const { resources } = await deploy({ standbys: 1 });
    expect(env(byName(resources, "postgres-engine-image")).BASE_IMAGE).toBe("sha256:pinned-image");
    const configure = byName(resources, "postgres-proxy-configure");
    expect(env(configure).PROBE_PASSWORD).toBe("generated-postgres-probe-password");
    expect(configure.secretInputs).toEqual(["environment"]);
    expect(configure.additionalSecretOutputs.sort()).toEqual(["stderr", "stdout"]);
    expect(Object.values(env(configure))).not.toContain("generated-postgres-superuser-password");
  });
});

describe("scaling", () => {
  test.each([0, 1, 2])(
    "resources for standbys = %i are a subset of those for two more, with identical inputs",
    async (k) => {
      const small = (await deploy({ standbys: k })).resources;
      const large = (await deploy({ standbys: k + 2 })).resources;
      const largeByName = new Map(large.map((r) => [r.name, r]));
      // The closing checks cover every instance, so they are the resources that change; so
      // does the backup container, which mounts every instance's data volume.
      const checks = ["postgres-check", "postgres-endpoints", "postgres-backup"];
      for (const r of small.filter((x) => !checks.includes(x.name))) {
        expect([r.name, largeByName.get(r.name)?.inputs]).toEqual([r.name, r.inputs]);
      }
      expect(large.length).toBeGreaterThan(small.length);
    },
  );

  test("outputs list the instances in order with their roles and ports", async () => {
    const { set } = await deploy({ standbys: 2 });
    expect(await resolve(set.instances)).toEqual([
      { name: "postgres-1", role: "primary", hostPort: 5000 },
      { name: "postgres-2", role: "standby", hostPort: 5001 },
      { name: "postgres-3", role: "standby", hostPort: 5002 },
    ]);
    expect(await resolve(set.primary)).toBe("postgres-1");
    expect(await resolve(set.primaryEndpoint)).toBe("127.0.0.1:5000");
    expect(await resolve(set.standbyEndpoints)).toEqual(["127.0.0.1:5001", "127.0.0.1:5002"]);
    expect(await resolve(set.network)).toBe("postgres");
  });
});

describe("promotion", () => {
  test("primary = 2 promotes instance 2 and makes instances 1 and 3 follow it", async () => {
    const { resources, set } = await deploy({ standbys: 2, primary: 2 });
    expect(env(byName(resources, "postgres-promote")).TARGET).toBe("postgres-2");
    expect(env(byName(resources, "postgres-promote"))[SCRIPT_VARIABLE]).toMatch(/pg_ctl promote/);
    expect(dependsOn(resources, "postgres-promote", "postgres-2-ready")).toBe(true);
    for (const n of [1, 3]) {
      expect(env(byName(resources, `postgres-${n}-join`)).PRIMARY_CONTAINER).toBe("postgres-2");
      expect(env(byName(resources, `postgres-${n}-slot`)).PRIMARY_CONTAINER).toBe("postgres-2");
      expect(env(byName(resources, `postgres-${n}-configure`)).POSTGRESQL_CONF).toMatch(
        /^primary_conninfo = 'host=postgres-2 /m,
      );
    }
    expect(env(byName(resources, "postgres-2-configure")).POSTGRESQL_CONF).toMatch(
      /^primary_conninfo = ''$/m,
    );
    expect(resources.map((r) => r.name)).not.toContain("postgres-2-join");
    expect(await resolve(set.primary)).toBe("postgres-2");
    expect(await resolve(set.standbyEndpoints)).toEqual(["127.0.0.1:5000", "127.0.0.1:5002"]);
  });

  test("a role change replaces no container: container inputs do not depend on the primary", async () => {
    const before = (await deploy({ standbys: 2, primary: 1 })).resources;
    const after = (await deploy({ standbys: 2, primary: 2 })).resources;
    for (const n of [1, 2, 3]) {
      expect(byName(after, `postgres-${n}`).inputs).toEqual(byName(before, `postgres-${n}`).inputs);
    }
  });
});

describe("goDuration", () => {
  test.each([
    [0, "0s"],
    [2, "2s"],
    [59, "59s"],
    [60, "1m0s"],
    [90, "1m30s"],
    [600, "10m0s"],
    [3600, "1h0m0s"],
    [3725, "1h2m5s"],
  ])("%i s is %s, as Go's time.Duration prints it", (seconds, expected) => {
    expect(goDuration(seconds)).toBe(expected);
  });

  test("refuses what it cannot write exactly", () => {
    expect(() => goDuration(1.5)).toThrow(/whole number/);
    expect(() => goDuration(-1)).toThrow(/whole number/);
  });
});

describe("backups", () => {
  test("a restore is checked before anything holding data exists, and fills the primary before its container", async () => {
    const { resources } = await deploy(
      {
        clusterName: "copy",
        standbys: 1,
        restore: { fromCluster: "prod", target: "2026-11-27T20:15:00Z" },
      },
      "copy",
    );
    const check = env(byName(resources, "copy-restore-check"));
    expect(check).toMatchObject({
      CLUSTER: "copy",
      RESTORE_FROM: "prod",
      SOURCE_VOLUME: "prod-backup",
      RESTORE_TARGET: "2026-11-27 20:15:00+00",
      TARGET_EPOCH_MS: String(Date.UTC(2026, 10, 27, 20, 15)),
    });
    expect(dependsOn(resources, "copy-restore-check", "copy-engine-image")).toBe(true);
    // It compares with what it printed before: the same restore is not refused on a new image.
    expect(byName(resources, "copy-restore-check").inputs.addPreviousOutputInEnv).toBe(true);
    for (const r of resources.filter((x) => x.type === VOLUME || x.type === NETWORK)) {
      expect(dependsOn(resources, r.name, "copy-restore-check")).toBe(true);
    }
    const restore = env(byName(resources, "copy-restore"));
    expect(restore).toMatchObject({
      DATA_VOLUME: "copy-1-data",
      CONFIG_VOLUME: "copy-1-config",
      ARCHIVE_VOLUME: "copy-backup",
      SOURCE_VOLUME: "prod-backup",
      RESTORE_TARGET: "2026-11-27 20:15:00+00",
    });
    expect(dependsOn(resources, "copy-restore", "copy-1-configure")).toBe(true);
    expect(dependsOn(resources, "copy-1", "copy-restore")).toBe(true);
    // The source's repository is mounted by the restore's throwaway container only.
    for (const c of instanceContainers(resources)) {
      expect(JSON.stringify(c.inputs.mounts)).not.toContain("prod-backup");
    }
    const latest = await deploy(
      { clusterName: "copy", restore: { fromCluster: "prod", target: "latest" } },
      "copy",
    );
    expect(env(byName(latest.resources, "copy-restore-check"))).toMatchObject({
      RESTORE_TARGET: "latest",
      TARGET_EPOCH_MS: "",
    });
  });

  test("without a restore there is no restore check nor restore command", async () => {
    const { resources } = await deploy({});
    expect(resources.filter((r) => /restore/.test(r.name))).toEqual([]);
  });

  test("a restore under failover: automatic is refused, naming the key", async () => {
    await expect(
      deploy(
        {
          clusterName: "copy",
          failover: "automatic",
          restore: { fromCluster: "prod", target: "latest" },
        },
        "copy",
      ),
    ).rejects.toThrow(/restore: is not available with failover: automatic yet/);
  });

  test("the repository volume is kept on destroy unless keepOnDestroy is false", async () => {
    const kept = await deploy({});
    expect(byName(kept.resources, "postgres-backup-repository").inputs.name).toBe(
      "postgres-backup",
    );
    expect(env(byName(kept.resources, "postgres-backup-kept")).KEEP).toBe("true");
    const dropped = await deploy({
      backup: { enabled: true, schedule: "0 3 * * *", retentionFull: 2, keepOnDestroy: false },
    });
    expect(env(byName(dropped.resources, "postgres-backup-kept")).KEEP).toBe("false");
  });
});
