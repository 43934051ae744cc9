/**
 * Everyday mistakes that must never end in a silently broken cluster: each either stops `up`
 * at once with what to run, or is repaired by it. Written once for both drivers.
 */
import { docker, psql, testImage } from "../support/docker";
import { ConfigValues, Deployment, UpResult } from "./drivers/deployment";
import {
  archivedFiles,
  Cluster,
  eventually,
  labelledObjects,
  removeLeftovers,
} from "./support/cluster";
import { timed as timedStep } from "./support/faults";
import type { ScenarioDriver } from "./scenarios";
import { LiveDeployment } from "./drivers/live-driver";

const SCENARIO_TIMEOUT = 10 * 60 * 1000;
const timed = (title: string, started: number) => timedStep(title, started, "scenario");

export function notSame(result: UpResult): string[] {
  return Object.entries(result.actions)
    .filter(([, action]) => action !== "same")
    .map(([name, action]) => `${name}:${action}`);
}

/** The message of a failed `up`. */
export async function failureOf(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error("up succeeded where it had to fail");
}

/** Slots of this cluster on instance n, through its published port. */
async function slotsOn(c: Cluster, n: number): Promise<string[]> {
  const rows = await c.sql(
    n,
    "select slot_name from pg_replication_slots where slot_type = 'physical' order by 1",
  );
  return rows === "" ? [] : rows.split("\n");
}

const slotOf = (cluster: string, n: number) => `${cluster.replace(/-/g, "_")}_${n}`;

export async function withDeployment(
  driver: ScenarioDriver,
  name: string,
  body: (deployment: Deployment) => Promise<void>,
): Promise<void> {
  await removeLeftovers(name);
  const deployment = driver.create(name);
  try {
    await body(deployment);
    await deployment.destroy();
    expect(await labelledObjects(name)).toEqual([]);
  } finally {
    await deployment.dispose();
    await removeLeftovers(name);
  }
}

export function mistakeScenarios(driver: ScenarioDriver): void {
  const image = testImage();
  const cluster = (name: string) => `prt-${driver.tag}-${name}`;

  test(
    "refresh changes nothing; a lost primary volume is refused, never re-initialised; slots follow roles; a removed container is named at once",
    async () => {
      const started = Date.now();
      const name = cluster("lostprimary");
      // A tag of the project's own, moved below as `docker pull` of a newer image would.
      const movingTag = `${name}-image:15`;
      await docker(["tag", image, movingTag]);
      const base: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 50,
        image: movingTag,
        standbys: 2,
      };
      await withDeployment(driver, name, async (deployment) => {
        const first = await deployment.up(base);
        const c = new Cluster(name, first);
        const identities = await Promise.all([1, 2, 3].map((n) => c.containerIdentity(n)));

        await docker(["rm", "-f", `${name}-retag`], { allowFailure: true });
        await docker(["create", "--name", `${name}-retag`, image]);
        await docker(["commit", "--change", "LABEL moved=yes", `${name}-retag`, movingTag]);
        await docker(["rm", "-f", `${name}-retag`]);
        expect(notSame(await deployment.up(base, { refresh: true }))).toEqual([]);
        expect(notSame(await deployment.up(base))).toEqual([]);
        expect(await Promise.all([1, 2, 3].map((n) => c.containerIdentity(n)))).toEqual(identities);

        await c.sql(1, "create table kept (v text); insert into kept values ('written before')");
        await eventually(
          async () => (await c.sql(3, "select count(*) from kept")) === "1",
          "the row did not reach instance 3",
        );

        // The primary's container and data volume are lost; the backup container goes too, as
        // it mounts the data volume.
        await docker(["rm", "-f", `${name}-1`, `${name}-backup`]);
        await docker(["volume", "rm", `${name}-1-data`]);
        let phase = Date.now();
        const refused = await failureOf(deployment.up(base, { refresh: true }));
        timed("lost primary volume: refusal", phase);
        expect(refused).toMatch(/data volume is empty but the cluster already has data/);
        const named = /most advanced standby is (\S+)-(\d+) .*pulumi config set primary (\d+)/.exec(
          refused,
        );
        expect(named).not.toBeNull();
        const promoted = Number(named![3]);
        expect([2, 3]).toContain(promoted);
        expect(named![2]).toBe(String(promoted));
        // Nothing answers on the lost primary's port: no empty database was initialised.
        await expect(
          psql(c.target(1), "select 1", { timeoutMs: 3000 }).then(() => "answered"),
        ).rejects.toThrow();

        phase = Date.now();
        const recovered = await deployment.up({ ...base, primary: promoted });
        timed("lost primary volume: promote the named standby", phase);
        const r = new Cluster(name, recovered);
        expect(await r.sql(promoted, "select v from kept")).toBe("written before");
        const standbys = [1, 2, 3].filter((n) => n !== promoted);
        expect(await r.streaming(promoted)).toEqual(standbys.map((n) => `${name}-${n}`));
        await eventually(
          async () => (await r.sql(1, "select v from kept")) === "written before",
          "the re-cloned instance 1 lacks the data",
        );
        // Each instance holds exactly the slots its role needs: the former standby that is
        // now the primary one per standby, the standbys none.
        expect(await slotsOn(r, promoted)).toEqual(standbys.map((n) => slotOf(name, n)));
        for (const n of standbys) expect(await slotsOn(r, n)).toEqual([]);

        // A standby's container removed by hand, then a role change without --refresh: the
        // run stops at once and says what to run.
        const removed = standbys[1];
        await docker(["rm", "-f", `${name}-${removed}`]);
        phase = Date.now();
        const missing = await failureOf(deployment.up({ ...base, primary: standbys[0] }));
        const seconds = (Date.now() - phase) / 1000;
        console.log(`measured: a removed container reported after ${seconds.toFixed(1)} s`);
        expect(missing).toContain(`container ${name}-${removed} does not exist`);
        expect(missing).toContain("pulumi up --refresh");
        const healed = await deployment.up({ ...base, primary: standbys[0] }, { refresh: true });
        const h = new Cluster(name, healed);
        expect(await h.streaming(standbys[0])).toEqual(
          [1, 2, 3].filter((n) => n !== standbys[0]).map((n) => `${name}-${n}`),
        );
        for (const n of [1, 2, 3].filter((x) => x !== standbys[0])) {
          expect(await slotsOn(h, n)).toEqual([]);
        }
        // The real CLI masks secret config values only, not generated passwords: no script
        // may print one, even in a failure.
        if (deployment instanceof LiveDeployment) {
          for (const key of ["superuserPassword", "replicationPassword"]) {
            const password = String(healed.outputs[key]);
            expect(password.length).toBeGreaterThan(20);
            expect({ key, printed: deployment.output.includes(password) }).toEqual({
              key,
              printed: false,
            });
          }
        }
      }).finally(() => docker(["rmi", movingTag]).catch(() => undefined));
      timed("lost primary volume", started);
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "a change of failover mode is refused before anything changes; with no standby to ask, a lost primary volume is refused because the backup repository holds the cluster's WAL",
    async () => {
      const started = Date.now();
      const name = cluster("lostarchive");
      const base: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 100,
        image,
        standbys: 0,
      };
      await withDeployment(driver, name, async (deployment) => {
        const c = new Cluster(name, await deployment.up(base));
        const identity = await c.containerIdentity(1);
        const switched = await failureOf(
          deployment.up({ ...base, failover: "automatic", backup: { enabled: false } }),
        );
        expect(switched).toContain(
          "failover: this cluster runs in manual mode and cannot change to automatic in place",
        );
        expect(await c.containerIdentity(1)).toBe(identity);
        expect(notSame(await deployment.up(base))).toEqual([]);

        await c.sql(1, "create table kept (v text); insert into kept values ('archived')");
        await c.sql(1, "select pg_switch_wal()");
        await eventually(
          async () => (await archivedFiles(name, image)).length > 0,
          "no WAL reached the backup repository",
        );

        // The only instance's container and data volume are lost; the backup container goes
        // too, as it mounts the data volume.
        await docker(["rm", "-f", `${name}-1`, `${name}-backup`]);
        await docker(["volume", "rm", `${name}-1-data`]);
        const refused = await failureOf(deployment.up(base, { refresh: true }));
        expect(refused).toMatch(
          /data volume is empty but the WAL archive holds this cluster's history/,
        );
        expect(refused).toContain(`docker volume rm ${name}-backup`);
        await expect(
          psql(c.target(1), "select 1", { timeoutMs: 3000 }).then(() => "answered"),
        ).rejects.toThrow();
      });
      timed("lost primary volume with the repository only", started);
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "a failed first start is repaired by the next up; a bad value or a missing image creates nothing",
    async () => {
      const started = Date.now();
      const name = cluster("firststart");
      const base: ConfigValues = { clusterName: name, hostPort: driver.basePort + 60, image };
      await withDeployment(driver, name, async (deployment) => {
        const badValue = await failureOf(
          deployment.up({ ...base, parameters: { work_mem: "lots" } }),
        );
        expect(badValue).toMatch(/parameters\.work_mem: "lots" is not allowed/);
        expect(await labelledObjects(name)).toEqual([]);

        const noImage = await failureOf(
          deployment.up({ ...base, image: "prt-no-such-image:never" }),
        );
        expect(noImage).toMatch(/prt-no-such-image:never/);
        expect(await labelledObjects(name)).toEqual([]);

        // A value PostgreSQL parses but cannot start with: initdb ran, the database did not.
        const failed = await failureOf(
          deployment.up({ ...base, parameters: { shared_preload_libraries: "prt_no_such_lib" } }),
        );
        expect(failed).toMatch(new RegExp(`${name}-1 did not start`));
        expect(failed).toMatch(/prt_no_such_lib/);

        const fixed = await deployment.up(base);
        const c = new Cluster(name, fixed);
        expect(await c.sql(1, "select current_database()")).toBe("postgresdb");
        expect(await c.streaming(1)).toEqual([`${name}-2`]);
      });
      timed("failed first start", started);
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "a failover to a standby that is behind is refused with both positions, unless acceptDataLoss; the other rejoins by pg_rewind",
    async () => {
      const started = Date.now();
      const name = cluster("behind");
      const base: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 70,
        image,
        standbys: 2,
        synchronousStandbys: 1,
      };
      await withDeployment(driver, name, async (deployment) => {
        const c = new Cluster(name, await deployment.up(base));
        await c.sql(1, "create table t (id int); insert into t values (1)");
        await eventually(
          async () => (await c.sql(3, "select count(*) from t")) === "1",
          "row 1 did not reach instance 3",
        );
        // Instance 3 stops receiving; instance 2 alone acknowledges the next commits.
        await docker(["network", "disconnect", name, `${name}-3`]);
        await c.sql(1, "insert into t select generate_series(2, 100)");
        await eventually(
          async () => (await c.sql(2, "select count(*) from t")) === "100",
          "instance 2 did not receive rows 2-100",
        );
        await docker(["kill", `${name}-1`]);
        await docker(["network", "connect", "--alias", `${name}-3`, name, `${name}-3`]);

        const refused = await failureOf(deployment.up({ ...base, primary: 3 }));
        expect(refused).toMatch(
          new RegExp(
            `refusing to promote ${name}-3: it holds WAL up to [0-9A-F]+/[0-9A-F]+ but ${name}-2 holds up to [0-9A-F]+/[0-9A-F]+`,
          ),
        );
        expect(refused).toContain("acceptDataLoss");
        expect(await c.sql(3, "select pg_is_in_recovery()")).toBe("t");
        expect(await c.sql(2, "select pg_is_in_recovery()")).toBe("t");

        // Told to accept the loss: instance 3 is promoted without rows 2-100, and instance 2,
        // which had them, is rewound (by the rewind role) to follow it.
        const accepted = await deployment.up({ ...base, primary: 3, acceptDataLoss: true });
        const a = new Cluster(name, accepted);
        expect(await a.sql(3, "select count(*) from t")).toBe("1");
        expect(await a.streaming(3)).toEqual([`${name}-1`, `${name}-2`]);
        await eventually(
          async () => (await a.sql(2, "select count(*) from t")) === "1",
          "instance 2 did not rejoin the new primary's history",
        );
      });
      timed("failover to a standby that is behind", started);
    },
    SCENARIO_TIMEOUT,
  );
}
