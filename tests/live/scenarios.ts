/**
 * The integration scenarios, written once against the Deployment interface and run by two
 * drivers: the live harness (in CI) and the Automation API (where the Pulumi CLI exists).
 * Real PostgreSQL in Docker, checked with psql through the published ports.
 */
import { docker, sleep, testImage } from "../support/docker";
import { createLoadTable, WriteLoad, WriteLoadSummary } from "../support/write-load";
import { ConfigValues, Deployment, UpResult } from "./drivers/deployment";
import {
  archivedFiles,
  Cluster,
  labelledObjects,
  removeLeftovers,
  WritablePoller,
  eventually,
} from "./support/cluster";
import { endpointScenarios } from "./endpoints";
import { mistakeScenarios } from "./mistakes";
import { restartOrderScenarios } from "./restart-order";
import { timed as timedStep } from "./support/faults";

export interface ScenarioDriver {
  /** Short name used in cluster names, so two drivers never share Docker objects. */
  readonly tag: string;
  /** A new deployment with a stack of its own. */
  create(stack: string): Deployment;
  /** First host port of this driver's range; each scenario takes ten ports from it. */
  readonly basePort: number;
}

const SCENARIO_TIMEOUT = 15 * 60 * 1000;

const timed = (title: string, started: number) => timedStep(title, started, "scenario");

function actionsOf(result: UpResult, filter: (name: string) => boolean): string[] {
  return Object.entries(result.actions)
    .filter(([name]) => filter(name))
    .map(([name, action]) => `${name}:${action}`);
}

function reportOutage(what: string, summary: WriteLoadSummary, lost: number): void {
  console.log(
    `measured: ${what}: write outage ${summary.timelineSwitchGapMs ?? summary.longestGapMs} ms ` +
      `(longest gap ${summary.longestGapMs} ms), ${summary.acknowledged} acknowledged, ` +
      `${summary.failed} failed, ${summary.unknown} unknown, ${lost} acknowledged rows lost`,
  );
}

export function replicaSetScenarios(driver: ScenarioDriver): void {
  const image = testImage();
  const cluster = (name: string) => `prt-${driver.tag}-${name}`;

  test(
    "the tutorial: replicate, refuse writes on the standby, archive WAL, idempotent up, teardown",
    async () => {
      const started = Date.now();
      const name = cluster("tutorial");
      await removeLeftovers(name);
      const deployment = driver.create(name);
      const config: ConfigValues = { clusterName: name, hostPort: driver.basePort, image };
      try {
        const result = await deployment.up(config);
        const c = new Cluster(name, result);
        expect(result.outputs.primary).toBe(`${name}-1`);
        expect(result.outputs.standbyEndpoints).toEqual([`127.0.0.1:${driver.basePort + 1}`]);
        expect(result.secretOutputs).toEqual(
          expect.arrayContaining(["connectionString", "readWriteUri", "superuserPassword"]),
        );

        await c.sql(
          1,
          "CREATE TABLE customers (firstname text, customer_id serial, date_created timestamp);" +
            "INSERT INTO customers (firstname, date_created) VALUES ('ada', now())",
        );
        await eventually(
          async () => (await c.sql(2, "select count(*) from customers").catch(() => "")) === "1",
          "the table created on the primary did not appear on the standby",
        );
        await expect(c.sql(2, "INSERT INTO customers (firstname) VALUES ('x')")).rejects.toThrow(
          /read-only transaction/,
        );

        const segment = await c.sql(1, "select pg_walfile_name(pg_switch_wal())");
        await eventually(
          async () => (await archivedFiles(name, image)).includes(segment),
          `WAL segment ${segment} did not reach the archive volume`,
        );

        const again = await deployment.up(config);
        expect(actionsOf(again, () => true).filter((a) => !a.endsWith(":same"))).toEqual([]);

        // Down to no standby: the standby still runs while this `up` checks the cluster and
        // its endpoints (deletes come last).
        const alone = await deployment.up({ ...config, standbys: 0 });
        expect(alone.outputs.standbyEndpoints).toEqual([]);
        expect((await labelledObjects(name)).filter((o) => o.includes(`${name}-2`))).toEqual([]);
        expect(await c.sql(1, "select count(*) from pg_replication_slots")).toBe("0");

        await deployment.destroy();
        expect(await labelledObjects(name)).toEqual([]);
      } finally {
        await deployment.dispose();
        await removeLeftovers(name);
      }
      timed("tutorial", started);
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "scale up, switch over, fail over, scale down: no split brain, no lost rows, no replaced container",
    async () => {
      const started = Date.now();
      const name = cluster("lifecycle");
      await removeLeftovers(name);
      const deployment = driver.create(name);
      const base: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 10,
        image,
      };
      try {
        const first = await deployment.up({ ...base, standbys: 1 });
        let c = new Cluster(name, first);
        await c.sql(
          1,
          "create table t (id int primary key, at text); insert into t values (1, 'before scaling')",
        );
        const identity1 = await c.containerIdentity(1);
        const identity2 = await c.containerIdentity(2);

        // Adding standbys touches nothing that exists.
        let phase = Date.now();
        const scaled = await deployment.up({ ...base, standbys: 3 });
        timed("lifecycle: standbys 1 -> 3", phase);
        c = new Cluster(name, scaled);
        const touched = actionsOf(scaled, (n) => !/-(3|4)(-|$)/.test(n)).filter(
          (a) => !a.endsWith(":same"),
        );
        // Only the closing checks, which cover every instance, run again, and the backup
        // container (it mounts every instance's data volume) is replaced.
        expect(touched.sort()).toEqual(
          [`${name}-check:update`, `${name}-endpoints:update`, `${name}-backup:replace`].sort(),
        );
        expect(await c.containerIdentity(1)).toBe(identity1);
        expect(await c.containerIdentity(2)).toBe(identity2);
        expect(await c.streaming(1)).toEqual([`${name}-2`, `${name}-3`, `${name}-4`]);
        for (const n of [2, 3, 4]) {
          await eventually(
            async () => (await c.sql(n, "select at from t where id = 1")) === "before scaling",
            `instance ${n} lacks the rows written before it was added`,
          );
        }

        // Switchover: instance 1 is alive. Never two writers; no acknowledged row lost.
        await c.sql(1, "insert into t values (2, 'before switchover')");
        await createLoadTable(c.target(1));
        let load = new WriteLoad(scaled.outputs.readWriteUri as string);
        load.start();
        await sleep(1000);
        let poller = new WritablePoller(() => c, 4);
        phase = Date.now();
        const switched = await deployment.up({ ...base, standbys: 3, primary: 2 });
        timed("lifecycle: switchover 1 -> 2", phase);
        await poller.stop();
        expect(await load.acknowledgedAfter(Date.now())).toBe(true);
        const switchLoad = await load.stop();
        const lostInSwitchover = await load.lostAcknowledged(c.target(2));
        reportOutage("switchover", switchLoad, lostInSwitchover.length);
        expect(lostInSwitchover).toEqual([]);
        expect(switchLoad.acknowledged).toBeGreaterThan(10);
        expect(poller.splitBrain).toEqual([]);
        expect(poller.samples).toBeGreaterThan(5);
        c = new Cluster(name, switched);
        expect(switched.outputs.primary).toBe(`${name}-2`);
        expect(await c.writable(2)).toBe(true);
        expect(await c.writable(1)).toBe(false);
        expect(await c.sql(2, "select count(*) from t")).toBe("2");
        expect(await c.streaming(2)).toEqual([`${name}-1`, `${name}-3`, `${name}-4`]);
        expect(
          actionsOf(switched, (n) => /^[a-z0-9-]+-\d$/.test(n)).filter((a) => !a.endsWith(":same")),
        ).toEqual([]);
        await c.sql(2, "insert into t values (3, 'after switchover')");
        await eventually(
          async () => (await c.sql(1, "select count(*) from t")) === "3",
          "the old primary does not replicate from the new one",
        );

        // Failover: the primary is gone; instance 3 takes over; instance 2 comes back fenced.
        load = new WriteLoad(scaled.outputs.readWriteUri as string);
        load.start();
        await sleep(1000);
        await docker(["rm", "-f", `${name}-2`]);
        poller = new WritablePoller(() => c, 4);
        phase = Date.now();
        const failed = await deployment.up({ ...base, standbys: 3, primary: 3 }, { refresh: true });
        timed("lifecycle: failover 2 -> 3", phase);
        await poller.stop();
        expect(await load.acknowledgedAfter(Date.now())).toBe(true);
        const failLoad = await load.stop();
        // Asynchronous replication: what the killed primary acknowledged last may be lost.
        reportOutage(
          "failover (asynchronous)",
          failLoad,
          (await load.lostAcknowledged(c.target(3))).length,
        );
        expect(poller.splitBrain).toEqual([]);
        c = new Cluster(name, failed);
        expect(await c.writable(3)).toBe(true);
        expect(await c.writable(2)).toBe(false);
        await c.sql(3, "insert into t values (4, 'after failover')");
        for (const n of [1, 2, 4]) {
          await eventually(
            async () => (await c.sql(n, "select count(*) from t")) === "4",
            `instance ${n} does not replicate the new primary's writes`,
          );
        }
        await expect(c.sql(2, "insert into t values (5, 'x')")).rejects.toThrow(/read-only/);

        // Scale down: instance 4 goes, with its volume and its slot on the primary.
        phase = Date.now();
        await deployment.up({ ...base, standbys: 2, primary: 3 });
        timed("lifecycle: standbys 3 -> 2", phase);
        const left = await labelledObjects(name);
        expect(left.filter((o) => o.includes(`${name}-4`))).toEqual([]);
        expect(await c.sql(3, "select slot_name from pg_replication_slots order by 1")).toBe(
          [`${name}_1`, `${name}_2`].map((s) => s.replace(/-/g, "_")).join("\n"),
        );

        await deployment.destroy();
        expect(await labelledObjects(name)).toEqual([]);
      } finally {
        await deployment.dispose();
        await removeLeftovers(name);
      }
      timed("lifecycle", started);
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "self-healing: catch-up from the slot, a lost container, an emptied volume, sync k by reload",
    async () => {
      const started = Date.now();
      const name = cluster("heal");
      await removeLeftovers(name);
      const deployment = driver.create(name);
      const config: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 40,
        image,
        standbys: 2,
        synchronousStandbys: 1,
        maxSlotWalKeepSize: "48MB",
        parameters: { max_wal_size: "64MB", min_wal_size: "32MB" },
      };
      const rows = async (n: number) => c.sql(n, "select count(*) from h").catch(() => "");
      let c: Cluster;
      try {
        c = new Cluster(name, await deployment.up(config));
        await c.sql(
          1,
          "create table h (id int, pad text); insert into h select g, 'x' from generate_series(1, 1000) g",
        );

        // A stopped standby catches up from its slot, which kept the WAL it missed.
        await docker(["stop", `${name}-3`]);
        await c.sql(
          1,
          "insert into h select g, repeat('y', 200) from generate_series(1001, 50000) g",
        );
        expect(
          await c.sql(
            1,
            `select active, wal_status from pg_replication_slots where slot_name = '${name.replace(/-/g, "_")}_3'`,
          ),
        ).toMatch(/^f\|(reserved|extended)$/);
        await docker(["start", `${name}-3`]);
        await eventually(
          async () => (await rows(3)) === "50000",
          "instance 3 did not catch up from its slot",
        );

        // Past maxSlotWalKeepSize the slot gives up; the standby then catches up from the
        // archive, and its slot is recreated when it starts.
        await docker(["stop", `${name}-3`]);
        for (let batch = 0; batch < 5; batch++) {
          await c.sql(
            1,
            "insert into h select g, repeat('z', 1000) from generate_series(1, 40000) g; checkpoint",
          );
        }
        expect(
          await c.sql(
            1,
            `select wal_status from pg_replication_slots where slot_name = '${name.replace(/-/g, "_")}_3'`,
          ),
        ).toBe("lost");
        const walBytes = Number(await c.sql(1, "select sum(size) from pg_ls_waldir()"));
        console.log(
          `measured: primary pg_wal with a lost slot: ${(walBytes / 2 ** 20).toFixed(0)} MB`,
        );
        await docker(["start", `${name}-3`]);
        await eventually(
          async () => (await rows(3)) === "250000",
          "instance 3 did not catch up from the archive",
        );
        await eventually(
          async () => (await c.streaming(1)).includes(`${name}-3`),
          "instance 3 does not stream again after catching up from the archive",
        );
        await c.sql(1, "delete from h where pad like 'z%'");

        // A standby whose container was removed comes back from its volume, without a clone.
        await docker(["rm", "-f", `${name}-3`]);
        let result = await deployment.up(config, { refresh: true });
        expect(actionsOf(result, (n) => n.startsWith(`${name}-3`)).sort()).toEqual(
          [
            `${name}-3:create`,
            `${name}-3-config:same`,
            `${name}-3-configure:same`,
            `${name}-3-data:same`,
            `${name}-3-join:same`,
            `${name}-3-ready:update`,
            `${name}-3-slot:same`,
            `${name}-3-streaming:same`,
          ].sort(),
        );
        await eventually(async () => (await rows(3)) === "50000", "instance 3 lost its data");

        // A standby whose volume is empty is cloned again; it never starts as a second primary.
        await docker(["rm", "-f", `${name}-2`]);
        // The backup container mounts every data volume read-only, which keeps it in use.
        await docker(["rm", "-f", `${name}-backup`]);
        await docker(["volume", "rm", `${name}-2-data`]);
        const poller = new WritablePoller(() => c, 3);
        result = await deployment.up(config, { refresh: true });
        await poller.stop();
        expect(poller.splitBrain).toEqual([]);
        expect(await c.writable(2)).toBe(false);
        await eventually(
          async () => (await rows(2)) === "50000",
          "instance 2 was not cloned again",
        );
        expect(await c.streaming(1)).toEqual([`${name}-2`, `${name}-3`]);

        // Synchronous replication: k changes by reload, no container replaced.
        const ids = await Promise.all(
          [1, 2, 3].map(async (n) => (await c.containerIdentity(n)).split(" ")[0]),
        );
        result = await deployment.up({ ...config, synchronousStandbys: 2 });
        expect(await c.sql(1, "show synchronous_standby_names")).toBe("ANY 2 (*)");
        expect(
          await Promise.all(
            [1, 2, 3].map(async (n) => (await c.containerIdentity(n)).split(" ")[0]),
          ),
        ).toEqual(ids);
        expect(actionsOf(result, (n) => /-\d$/.test(n)).every((a) => a.endsWith(":same"))).toBe(
          true,
        );
        await c.sql(1, "insert into h values (0, 'committed with two synchronous standbys')");

        await deployment.destroy();
        expect(await labelledObjects(name)).toEqual([]);
      } finally {
        await deployment.dispose();
        await removeLeftovers(name);
      }
      timed("self-healing", started);
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "bad config fails with the validation message and creates nothing",
    async () => {
      const name = cluster("bad");
      await removeLeftovers(name);
      const deployment = driver.create(name);
      try {
        await expect(
          deployment.up({ clusterName: name, image, standbys: 2, primary: 7 }),
        ).rejects.toThrow(/primary: 7 is not allowed.*switch over first/s);
        expect(await labelledObjects(name)).toEqual([]);
      } finally {
        await deployment.dispose();
      }
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "custom config beside another cluster: odd password, sync replication, in-place changes, rotation",
    async () => {
      const started = Date.now();
      const name = cluster("custom");
      const other = cluster("beside");
      await removeLeftovers(name);
      await removeLeftovers(other);
      const deployment = driver.create(name);
      const neighbour = driver.create(other);
      const password = `it's a "pass" $HOME \\ word`;
      const config: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 20,
        image,
        standbys: 2,
        synchronousStandbys: 1,
        parameters: { work_mem: "8MB" },
      };
      try {
        const result = await deployment.up(config, { secrets: { superuserPassword: password } });
        await neighbour.up({
          clusterName: other,
          hostPort: driver.basePort + 30,
          image,
          standbys: 0,
        });
        const c = new Cluster(name, result);
        expect(c.password).toBe(password);
        expect(await c.sql(1, "select current_user")).toBe("postgresadmin");
        expect(await c.sql(1, "show synchronous_standby_names")).toBe("ANY 1 (*)");
        expect(
          await c.sql(1, "select string_agg(sync_state, ',' order by 1) from pg_stat_replication"),
        ).toBe("quorum,quorum");
        await c.sql(1, "create table s (id int); insert into s values (1)");
        for (const n of [1, 2, 3]) expect(await c.sql(n, "show work_mem")).toBe("8MB");

        // Parameters change in place: reload, no container replaced, no standby re-cloned.
        const identities = await Promise.all([1, 2, 3].map((n) => c.containerIdentity(n)));
        const changed = await deployment.up(
          { ...config, parameters: { work_mem: "16MB" } },
          { secrets: { superuserPassword: password } },
        );
        for (const n of [1, 2, 3]) {
          await eventually(
            async () => (await c.sql(n, "show work_mem")) === "16MB",
            `instance ${n} did not reload work_mem`,
          );
        }
        expect(await Promise.all([1, 2, 3].map((n) => c.containerIdentity(n)))).toEqual(identities);
        expect(actionsOf(changed, (n) => n.endsWith("-join"))).toEqual([
          `${name}-2-join:same`,
          `${name}-3-join:same`,
        ]);

        // A setting that needs a restart: rolling restart, containers kept.
        const ids = async () =>
          Promise.all([1, 2, 3].map(async (n) => (await c.containerIdentity(n)).split(" ")[0]));
        const idsBefore = await ids();
        await deployment.up(
          { ...config, parameters: { work_mem: "16MB", shared_buffers: "160MB" } },
          { secrets: { superuserPassword: password } },
        );
        for (const n of [1, 2, 3]) expect(await c.sql(n, "show shared_buffers")).toBe("160MB");
        expect(await ids()).toEqual(idsBefore);
        await eventually(
          async () => (await c.streaming(1)).length === 2,
          "standbys do not stream again after the rolling restart",
        );

        // Rotating the replication password: standbys stream again without a re-clone.
        const rotated = await deployment.up(
          { ...config, parameters: { work_mem: "16MB", shared_buffers: "160MB" } },
          { secrets: { superuserPassword: password, replicationPassword: "rotated-Secret-1" } },
        );
        expect(
          actionsOf(rotated, (n) => n.endsWith("-join")).every((a) => a.endsWith(":same")),
        ).toBe(true);
        for (const n of [2, 3]) {
          await docker([
            "exec",
            "-u",
            "postgres",
            `${name}-${n}`,
            "psql",
            "-U",
            "postgresadmin",
            "-d",
            "postgres",
            "-c",
            "select pg_terminate_backend(pid) from pg_stat_wal_receiver",
          ]);
        }
        await sleep(1000);
        await eventually(
          async () => (await c.streaming(1)).length === 2,
          "standbys do not stream again after the replication password changed",
        );

        // The neighbour was never disturbed.
        expect(
          await new Cluster(
            other,
            await neighbour.up({
              clusterName: other,
              hostPort: driver.basePort + 30,
              image,
              standbys: 0,
            }),
          ).sql(1, "select 1"),
        ).toBe("1");

        await deployment.destroy();
        await neighbour.destroy();
        expect(await labelledObjects(name)).toEqual([]);
        expect(await labelledObjects(other)).toEqual([]);
      } finally {
        await deployment.dispose();
        await neighbour.dispose();
        await removeLeftovers(name);
        await removeLeftovers(other);
      }
      timed("custom", started);
    },
    SCENARIO_TIMEOUT,
  );
}

/**
 * Everyday mistakes, the rolling-restart order and the endpoints: a second file for each
 * driver, so that CI's workers share the scenarios.
 */
export function safetyScenarios(driver: ScenarioDriver): void {
  mistakeScenarios(driver);
  restartOrderScenarios(driver);
  endpointScenarios(driver);
}
