import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";

import { installMocks, recordProgram, RegisteredResource } from "./support/recording-mocks";

installMocks();
// Each test runs the whole program under Pulumi's mocks; a loaded 2-core machine needs time.
jest.setTimeout(60_000);

import { PostgresReplicaSet, PostgresReplicaSetArgs } from "../../components/postgres-replica-set";
import { etcdArguments, etcdClientHosts } from "../../components/automatic/etcd-cluster";
import {
  dynamicConfig,
  PATRONI_TIMINGS,
  patroniTimingProblem,
  renderPatroniConfig,
} from "../../components/automatic/patroni-config";
import { renderPatroniProxyConfig } from "../../components/automatic/patroni-proxy";
import { MAX_STANDBYS, resolveSettings } from "../../components/settings";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const env = (r: RegisteredResource) => (r.inputs.environment ?? {}) as Record<string, string>;

async function deploy(args: PostgresReplicaSetArgs): Promise<RegisteredResource[]> {
  return recordProgram(() => {
    new PostgresReplicaSet("pg", { clusterName: "pg", failover: "automatic", ...args });
  });
}

describe("Patroni timings", () => {
  test("the chosen timings keep loop_wait + 2 * retry_timeout within ttl", () => {
    expect(patroniTimingProblem(PATRONI_TIMINGS)).toBeUndefined();
    expect(PATRONI_TIMINGS.ttl).toBeLessThan(10);
  });

  test("timings a leader could not renew its key within are refused", () => {
    expect(patroniTimingProblem({ ttl: 10, loopWait: 4, retryTimeout: 4 })).toBe(
      "Patroni timings: loop_wait (4) + 2 * retry_timeout (4) must not exceed ttl (10)",
    );
    expect(patroniTimingProblem({ ttl: 10, loopWait: 0, retryTimeout: 4 })).toMatch(/at least 1/);
    expect(() =>
      dynamicConfig(resolveSettings({}), { ttl: 5, loopWait: 3, retryTimeout: 2 }),
    ).toThrow(/must not exceed ttl/);
  });
});

describe("Patroni configuration", () => {
  const settings = resolveSettings({
    clusterName: "demo",
    standbys: 2,
    synchronousStandbys: 1,
    etcdMembers: 3,
    parameters: { work_mem: "16MB", jit: false },
  });

  test("renders to YAML Patroni reads: etcd3 hosts, member name, no password", () => {
    const text = renderPatroniConfig(settings, 2);
    const config = yaml.load(text) as Record<string, Record<string, unknown>>;
    expect(config.scope).toBe("demo");
    expect(config.name).toBe("demo-2");
    expect(config.etcd3.hosts).toBe("demo-etcd-1:2379,demo-etcd-2:2379,demo-etcd-3:2379");
    expect(config.restapi.connect_address).toBe("demo-2:8008");
    const postgresql = config.postgresql as Record<string, unknown>;
    expect(postgresql.data_dir).toBe("/data/pgdata");
    expect(postgresql.authentication).toEqual({
      superuser: { username: "postgresadmin" },
      replication: { username: "replicationUser" },
      rewind: { username: "rewinder" },
    });
    expect(text).not.toMatch(/password\s*:/i);
    expect((config.bootstrap as Record<string, unknown>).dcs).toEqual(dynamicConfig(settings));
  });

  test("synchronousStandbys maps to Patroni's synchronous mode; parameters to its dynamic config", () => {
    const dcs = dynamicConfig(settings) as {
      synchronous_mode: boolean;
      synchronous_node_count: number;
      postgresql: {
        use_slots: boolean;
        use_pg_rewind: boolean;
        parameters: Record<string, unknown>;
      };
    };
    expect(dcs.synchronous_mode).toBe(true);
    expect(dcs.synchronous_node_count).toBe(1);
    expect(dcs.postgresql.use_slots).toBe(true);
    expect(dcs.postgresql.use_pg_rewind).toBe(true);
    expect(dcs.postgresql.parameters).toMatchObject({ work_mem: "16MB", jit: false });
    const asynchronous = dynamicConfig(resolveSettings({ synchronousStandbys: 0 }));
    expect(asynchronous.synchronous_mode).toBe(false);
  });

  test("etcd members form one static cluster of etcdMembers", () => {
    expect(etcdClientHosts("demo", 1)).toBe("demo-etcd-1:2379");
    const args = etcdArguments("demo", 3, 2);
    expect(args[args.indexOf("--name") + 1]).toBe("demo-etcd-2");
    expect(args[args.indexOf("--initial-cluster") + 1]).toBe(
      "demo-etcd-1=http://demo-etcd-1:2380,demo-etcd-2=http://demo-etcd-2:2380,demo-etcd-3=http://demo-etcd-3:2380",
    );
  });

  test("the proxy asks Patroni with OPTIONS, for every instance the cluster may ever have", () => {
    const cfg = renderPatroniProxyConfig("demo");
    expect(cfg).toContain("option httpchk OPTIONS /primary");
    expect(cfg).toContain("option httpchk OPTIONS /replica");
    expect(cfg).not.toMatch(/httpchk GET/);
    expect(cfg.match(/^ {2}server demo-\d+ demo-\d+:5432 check port 8008$/gm)).toHaveLength(
      2 * (MAX_STANDBYS + 1),
    );
  });
});

describe("automatic mode resources", () => {
  test("etcd members, Patroni members on the manual mode's names and ports, one proxy; no manual-mode commands", async () => {
    const resources = await deploy({ standbys: 2, etcdMembers: 3, hostPort: 7000 });
    const containers = resources.filter((r) => r.type === CONTAINER);
    expect(containers.map((r) => r.inputs.name).sort()).toEqual([
      "pg-1",
      "pg-2",
      "pg-3",
      "pg-backup",
      "pg-etcd-1",
      "pg-etcd-2",
      "pg-etcd-3",
      "pg-proxy",
    ]);
    for (const etcd of containers.filter((r) => /etcd/.test(String(r.inputs.name)))) {
      expect(etcd.inputs.ports ?? []).toEqual([]);
      expect(etcd.inputs.mounts).toEqual([
        expect.objectContaining({ source: `${etcd.inputs.name}-data`, target: "/var/lib/etcd" }),
      ]);
    }
    const member = containers.find((r) => r.inputs.name === "pg-2")!;
    expect(member.inputs.user).toBe("postgres");
    expect(member.inputs.entrypoints).toEqual(["patroni", "/config/patroni"]);
    // A cut-off leader must not spend longer than ttl waiting on Docker's resolver.
    expect(member.inputs.envs).toContain("RES_OPTIONS=timeout:1 attempts:1");
    expect(member.inputs.ports).toEqual([
      { internal: 5432, external: 7001, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    const names = resources.map((r) => r.name);
    for (const manualOnly of [
      "pg-promote",
      "pg-roles",
      "pg-2-join",
      "pg-2-slot",
      "pg-2-streaming",
    ]) {
      expect(names).not.toContain(manualOnly);
    }
    expect(names).toEqual(
      expect.arrayContaining(["pg-switchover", "pg-patroni-config", "pg-check"]),
    );
  });

  test("backups: WAL through pgBackRest into the repository, a backup container reading every member's data volume once the preferred member leads", async () => {
    const resources = await deploy({ standbys: 2 });
    const byName = (n: string) => resources.find((r) => r.name === n)!;
    const dcs = yaml.load(env(byName("pg-1-configure")).PATRONI_YML) as {
      bootstrap: { dcs: { postgresql: { parameters: Record<string, string> } } };
      postgresql: Record<string, unknown>;
    };
    expect(dcs.bootstrap.dcs.postgresql.parameters.archive_command).toBe(
      "pgbackrest --config=/config/pgbackrest.conf --stanza=pg archive-push %p",
    );
    expect(dcs.bootstrap.dcs.postgresql.parameters.archive_timeout).toBe("60s");
    // Members stream only (see patroni.yml): no restore_command, so none can replay from the
    // archive WAL that a killed leader archived and its successor never had.
    expect(dcs.postgresql).not.toHaveProperty("recovery_conf");
    for (const n of [1, 2, 3]) {
      const conf = env(byName(`pg-${n}-configure`)).PGBACKREST_CONF;
      expect([n, conf]).toEqual([n, expect.stringContaining("pg1-path=/data/pgdata\n")]);
      const member = byName(`pg-${n}`);
      expect(member.inputs.mounts).toContainEqual(
        expect.objectContaining({ source: "pg-backup", target: "/mnt/server/archive" }),
      );
    }
    const backup = byName("pg-backup");
    expect(backup.inputs.envs).toContain("INSTANCES=1 2 3");
    for (const n of [1, 2, 3]) {
      expect(backup.inputs.mounts).toContainEqual({
        type: "volume",
        source: `pg-${n}-data`,
        target: `/instances/${n}`,
        readOnly: true,
      });
    }
    expect(env(byName("pg-backup-stanza")).PRIMARY_CONTAINER).toBe("pg-1");
    expect(byName("pg-backup-stanza").dependencies).toContain("pg-switchover");
    expect(byName("pg-backup").dependencies).toContain("pg-switchover");
  });

  test("without the WAL archive there is no repository and no backup container", async () => {
    const resources = await deploy({ standbys: 1, walArchive: false });
    const names = resources.map((r) => r.name);
    for (const absent of ["pg-backup", "pg-backup-stanza", "pg-backup-configure"]) {
      expect(names).not.toContain(absent);
    }
    expect(env(resources.find((r) => r.name === "pg-1-configure")!).PGBACKREST_CONF).toBe("");
  });

  test("passwords reach only secret command environments that log nothing, never containers or command text", async () => {
    const secrets = ["Given-superuser-Pw", "Given-repl-Pw"];
    const resources = await deploy({
      standbys: 1,
      superuserPassword: pulumi.secret(secrets[0]),
      replicationPassword: pulumi.secret(secrets[1]),
    });
    const holders = resources.filter((r) => Object.values(env(r)).some((v) => secrets.includes(v)));
    expect(holders.map((r) => r.name).sort()).toEqual([
      "pg-1-configure",
      "pg-2-configure",
      "pg-backup-configure",
    ]);
    for (const r of resources.filter((x) => x.type === COMMAND)) {
      const text = [r.inputs.create, r.inputs.update, r.inputs.delete].join("\n");
      for (const secret of secrets) expect(text).not.toContain(secret);
      if (Object.keys(env(r)).some((k) => /PASSWORD/.test(k))) {
        expect([r.name, r.inputs.logging]).toEqual([r.name, "none"]);
        expect([r.name, r.additionalSecretOutputs.sort()]).toEqual([r.name, ["stderr", "stdout"]]);
      }
    }
    for (const r of resources.filter((x) => x.type === CONTAINER)) {
      for (const secret of secrets) expect(JSON.stringify(r.inputs)).not.toContain(secret);
    }
  });

  test("a new image reaches the members one at a time, the replicas first and the preferred leader last", async () => {
    const resources = await deploy({ standbys: 2, primary: 2 });
    const byName = (name: string) => resources.find((r) => r.name === name)!;
    // What the mocks' engine-image Command prints.
    const engineImage = "sha256:engine-image";
    // Rollout order 1, 3, 2: member 1 takes the image as it is, each next one through a pin
    // that waits for the member before it.
    expect(byName("pg-1").inputs.image).toBe(engineImage);
    expect(resources.map((r) => r.name)).not.toContain("pg-1-image");
    for (const [member, before] of [
      [3, 1],
      [2, 3],
    ]) {
      const pin = byName(`pg-${member}-image`);
      expect(byName(`pg-${member}`).dependencies).toContain(`pg-${member}-image`);
      expect(pin.dependencies).toContain(`pg-${before}`);
      expect([env(pin).KIND, env(pin).CLUSTER, env(pin).IMAGE]).toEqual([
        "member",
        "pg",
        engineImage,
      ]);
      expect(pin.inputs.update).toMatch(/patroni image update$/);
      expect(pin.inputs.addPreviousOutputInEnv).toBe(true);
      expect(byName(`pg-${member}`).inputs.image).toBe(engineImage);
    }
    // etcd the same way, one member at a time, so that the others keep a quorum.
    expect(byName("pg-etcd-1").inputs.image).toBe(engineImage);
    for (const m of [2, 3]) {
      const pin = byName(`pg-etcd-${m}-image`);
      expect(byName(`pg-etcd-${m}`).dependencies).toContain(`pg-etcd-${m}-image`);
      expect(pin.dependencies).toContain(`pg-etcd-${m - 1}`);
      expect([env(pin).KIND, env(pin).CLUSTER]).toEqual(["etcd", "pg"]);
    }
    // No member waits for another's readiness: whichever starts first bootstraps, and the
    // switchover (which runs again whenever a member is re-created) hands the lead to 2.
    for (const n of [1, 2, 3]) {
      expect(byName(`pg-${n}`).dependencies.filter((d) => /-ready$/.test(d))).toEqual([]);
    }
    expect(env(byName("pg-switchover")).PREFERRED).toBe("pg-2");
    expect(env(byName("pg-switchover")).CONTAINER_IDS).toBe("pg-1-id pg-2-id pg-3-id");
  });

  test("scaling or a new preferred leader changes no input of the proxy, existing members or the rollout pins", async () => {
    const small = await deploy({ standbys: 1 });
    const large = await deploy({ standbys: 3 });
    const otherLeader = await deploy({ standbys: 3, primary: 3 });
    const inputsOf = (resources: RegisteredResource[], name: string) =>
      [name, resources.find((r) => r.name === name)?.inputs] as const;
    // Rollout orders 2, 3, 4, 1 and 1, 2, 4, 3: pins 3 and 4 exist in both.
    for (const name of ["pg-3-image", "pg-4-image", "pg-etcd-2-image", "pg-etcd-3-image"]) {
      expect(inputsOf(otherLeader, name)).toEqual(inputsOf(large, name));
    }
    expect(inputsOf(small, "pg-1-image")).toEqual(inputsOf(large, "pg-1-image"));
    expect(inputsOf(large, "pg-1-image")[1]).toBeDefined();
    for (const name of ["pg-proxy", "pg-1", "pg-2", "pg-etcd-1", "pg-1-configure"]) {
      const a = small.find((r) => r.name === name)!;
      const b = large.find((r) => r.name === name)!;
      expect([name, b.inputs]).toEqual([name, a.inputs]);
    }
  });
});
