/**
 * "Prove it under faults": the replica set against a killed primary, a planned switchover under
 * load, a crash and restart without failover, a standby left behind by more WAL than its slot
 * may hold, and a primary cut off from the network. Real PostgreSQL in Docker through the live
 * harness; writes go through the readWriteUri output, so the client follows the primary.
 * Timings and figures are printed ("fault timing: ...", "measured: ..."), never asserted.
 */
import { docker, psql, sleep, testImage, waitUntil } from "../support/docker";
import { createLoadTable, LOAD_TABLE, WriteLoad, WriteLoadSummary } from "../support/write-load";
import { ConfigValues, UpResult } from "./drivers/deployment";
import { LiveDeployment } from "./drivers/live-driver";
import {
  Cluster,
  eventually,
  labelledObjects,
  removeLeftovers,
  WritablePoller,
} from "./support/cluster";
import {
  containerStatus,
  ExecWritablePoller,
  liveSuiteGate,
  logTail,
  storedTimelines,
  TimelineSwitch,
  timelineSwitch,
  mb,
  MB,
  sqlIn,
  timed,
  walDirBytes,
} from "./support/faults";

const { describeLive, unavailable } = liveSuiteGate("the live fault scenarios");

const SUPERUSER = "postgresadmin";
const TEST_TIMEOUT = 10 * 60 * 1000;

/** Deploys into a fresh stack, runs body, and always tears down (state, Docker objects). */
async function withDeployment(
  name: string,
  body: (
    deployment: LiveDeployment,
    defer: (cleanup: () => Promise<unknown>) => void,
  ) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  await removeLeftovers(name);
  const deployment = new LiveDeployment({ stack: name });
  const cleanups: (() => Promise<unknown>)[] = [];
  let failed = false;
  try {
    await body(deployment, (cleanup) => cleanups.unshift(cleanup));
  } catch (err) {
    failed = true;
    // Evidence for a report: what each instance logged last.
    for (const n of [1, 2, 3]) {
      const container = `${name}-${n}`;
      if ((await containerStatus(container)) === "missing") continue;
      console.log(`--- docker logs --tail 40 ${container} ---\n${await logTail(container, 40)}`);
    }
    throw err;
  } finally {
    // Background pollers and write loads first (each stops at most once).
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    try {
      await deployment.destroy();
      if (!failed) expect(await labelledObjects(name)).toEqual([]);
    } finally {
      await deployment.dispose();
      await removeLeftovers(name);
      timed(`${name} (whole scenario)`, started);
    }
  }
}

function uriOf(result: UpResult): string {
  return result.outputs.readWriteUri as string;
}

/** Starts a write load through the readWriteUri and waits until it has a few acknowledgements. */
async function startLoad(
  c: Cluster,
  result: UpResult,
  primary: number,
  defer: (cleanup: () => Promise<unknown>) => void,
): Promise<WriteLoad> {
  await createLoadTable(c.target(primary));
  const load = new WriteLoad(uriOf(result));
  load.start();
  defer(() => load.stop());
  await waitUntil(
    async () => load.summary().acknowledged >= 20,
    "the write load got no acknowledgements",
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return load;
}

/**
 * Lets the load run until at least `count` acknowledged rows were stored on a timeline newer
 * than `timeline` (read from the rows on instance `primary`).
 */
async function untilAckedOnNewTimeline(
  load: WriteLoad,
  c: Cluster,
  primary: number,
  timeline: number,
  count = 10,
): Promise<void> {
  const newerAcks = async () => {
    const stored = await storedTimelines(c.target(primary));
    return load.records.filter((r) => r.outcome === "ack" && (stored.get(r.seq) ?? 0) > timeline)
      .length;
  };
  try {
    await waitUntil(
      async () => (await newerAcks().catch(() => 0)) >= count,
      `the write load got no acknowledgement on a timeline after ${timeline}`,
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  } catch (err) {
    // Evidence: what the load saw last, and whether its loop ended with an error.
    const stopped = await load.stop().then(
      () => "the load loop was still running",
      (e: unknown) =>
        `the load loop had ended with: ${String(e).split("\n").slice(0, 6).join(" | ")}`,
    );
    const last = load.records
      .slice(-5)
      .map((r) => `#${r.seq} ${r.outcome} ${r.doneAt - r.sentAt}ms`)
      .join("; ");
    throw new Error(`${(err as Error).message}; ${stopped}; last records: ${last}`);
  }
}

function describeLoad(summary: WriteLoadSummary, change: TimelineSwitch, lost: number[]): string {
  return (
    (change.firstNewAck
      ? `write outage ${change.gapMs} ms (last ack on the old timeline to first on the new), `
      : "no acknowledgement on a newer timeline, ") +
    `longest gap between acks ${summary.longestGapMs} ms, ${summary.attempts} attempts: ` +
    `${summary.acknowledged} acknowledged, ${summary.failed} failed, ${summary.unknown} unknown; ` +
    `acknowledged rows lost: ${lost.length}${lost.length ? ` (${lost.slice(0, 20).join(",")})` : ""}`
  );
}

async function timelineOf(c: Cluster, n: number): Promise<{ control: number; walFile: number }> {
  const [control, walFile] = (
    await c.sql(
      n,
      "select (select timeline_id from pg_control_checkpoint()) || '|' || " +
        "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)",
    )
  ).split("|");
  return { control: Number(control), walFile: parseInt(walFile, 16) };
}

describeLive("fault scenarios (live harness)", () => {
  const image = testImage();

  beforeAll(() => {
    if (unavailable) throw new Error(`live fault scenarios cannot run under CI: ${unavailable}`);
  });

  test.each([
    { synchronousStandbys: 1, name: "prt-fault-kill", hostPort: 15800 },
    { synchronousStandbys: 0, name: "prt-fault-kill-async", hostPort: 15860 },
  ])(
    "primary killed under load, failover by config (synchronousStandbys $synchronousStandbys): outage and lost acknowledged rows; none lost when synchronous",
    async ({ synchronousStandbys, name, hostPort }) => {
      await withDeployment(name, async (deployment, defer) => {
        const config: ConfigValues = {
          clusterName: name,
          hostPort,
          image,
          standbys: 1,
          synchronousStandbys,
        };
        const first = await deployment.up(config);
        let c = new Cluster(name, first);
        expect(await c.sql(1, "show synchronous_standby_names")).toBe(
          synchronousStandbys ? "ANY 1 (*)" : "",
        );
        const load = await startLoad(c, first, 1, defer);
        const before = (await timelineOf(c, 1)).walFile;

        const killedAt = Date.now();
        await docker(["kill", "-s", "KILL", `${name}-1`]);
        await sleep(1000);
        console.log(
          `measured: after docker kill, ${name}-1 is ${await containerStatus(`${name}-1`)}`,
        );
        // The killed container stays, exited, as after a real crash: the failover must fence
        // and rejoin it from its own data (containers are declared with mustRun false).

        const phase = Date.now();
        const failed = await deployment.up({ ...config, primary: 2 }, { refresh: true });
        timed(`kill + failover by config (synchronousStandbys ${synchronousStandbys})`, phase);
        c = new Cluster(name, failed);
        await untilAckedOnNewTimeline(load, c, 2, before);
        const summary = await load.stop();
        const lost = await load.lostAcknowledged(c.target(2));
        const change = timelineSwitch(load.records, await storedTimelines(c.target(2)), before);
        console.log(
          `measured: primary killed, failover to 2 (synchronousStandbys ${synchronousStandbys}): ` +
            `${describeLoad(summary, change, lost)}; ` +
            `kill to first ack on the new timeline ${(change.firstNewAck?.doneAt ?? NaN) - killedAt} ms`,
        );
        // Asynchronous replication may lose what the standby had not received: only reported.
        if (synchronousStandbys > 0) expect(lost).toEqual([]);
        expect(change.gapMs).toBeDefined();
        expect(await c.writable(2)).toBe(true);
        expect(await c.writable(1)).toBe(false);
        expect(await c.streaming(2)).toEqual([`${name}-1`]);
      });
    },
    TEST_TIMEOUT,
  );

  test(
    "planned switchover under load: no acknowledged row lost",
    async () => {
      const name = "prt-fault-switch";
      await withDeployment(name, async (deployment, defer) => {
        const config: ConfigValues = { clusterName: name, hostPort: 15810, image, standbys: 1 };
        const first = await deployment.up(config);
        let c = new Cluster(name, first);
        const load = await startLoad(c, first, 1, defer);
        const before = (await timelineOf(c, 1)).walFile;
        const poller = new WritablePoller(() => c, 2);
        defer(() => poller.stop());

        const phase = Date.now();
        const switched = await deployment.up({ ...config, primary: 2 });
        timed("switchover by config (primary 2)", phase);
        c = new Cluster(name, switched);
        await untilAckedOnNewTimeline(load, c, 2, before);
        const summary = await load.stop();
        await poller.stop();
        const lost = await load.lostAcknowledged(c.target(2));
        const change = timelineSwitch(load.records, await storedTimelines(c.target(2)), before);
        console.log(
          `measured: planned switchover 1 -> 2 (async): ${describeLoad(summary, change, lost)}; ` +
            `${poller.samples} writability samples`,
        );
        expect(lost).toEqual([]);
        expect(poller.splitBrain).toEqual([]);
        expect(await c.writable(2)).toBe(true);
        expect(await c.writable(1)).toBe(false);
        expect(await c.streaming(2)).toEqual([`${name}-1`]);
      });
    },
    TEST_TIMEOUT,
  );

  test(
    "primary crash and restart without failover: rows kept, same timeline, standbys reconnect",
    async () => {
      const name = "prt-fault-crash";
      await withDeployment(name, async (deployment, defer) => {
        const config: ConfigValues = { clusterName: name, hostPort: 15820, image, standbys: 2 };
        const first = await deployment.up(config);
        const c = new Cluster(name, first);
        const standbys = [`${name}-2`, `${name}-3`];
        expect(await c.streaming(1)).toEqual(standbys);
        const load = await startLoad(c, first, 1, defer);
        const timelineBefore = await timelineOf(c, 1);

        await docker(["kill", "-s", "KILL", `${name}-1`]);
        const killedAt = Date.now();
        await sleep(500);
        const afterKill = await containerStatus(`${name}-1`);
        if (afterKill !== "running") await docker(["start", `${name}-1`]);
        console.log(`measured: after docker kill, ${name}-1 was ${afterKill}; started again`);
        await eventually(
          async () => (await c.writable(1)) === true,
          "the primary did not come back",
        );
        const writableAt = Date.now();
        await eventually(
          async () => JSON.stringify(await c.streaming(1)) === JSON.stringify(standbys),
          "the standbys do not stream from the restarted primary again",
          60_000,
        );
        const streamingAt = Date.now();
        await waitUntil(
          async () =>
            load.records.filter((r) => r.outcome === "ack" && r.sentAt > writableAt).length >= 10,
          "no acknowledged write after the restart",
          { timeoutMs: 30_000, intervalMs: 200 },
        );
        const summary = await load.stop();
        const lost = await load.lostAcknowledged(c.target(1));
        const timelineAfter = await timelineOf(c, 1);
        const stored = await storedTimelines(c.target(1));
        const change = timelineSwitch(load.records, stored, timelineBefore.walFile);
        console.log(
          `measured: primary crash + restart: writable again ${writableAt - killedAt} ms after the kill, ` +
            `both standbys streaming ${streamingAt - killedAt} ms after; ${describeLoad(summary, change, lost)}; ` +
            `timeline before ${JSON.stringify(timelineBefore)} after ${JSON.stringify(timelineAfter)}`,
        );
        expect(lost).toEqual([]);
        expect(timelineAfter).toEqual(timelineBefore);
        expect(timelineBefore.control).toBe(timelineBefore.walFile);
        // Every row, before and after the crash, was written on that one timeline.
        expect([...new Set(stored.values())]).toEqual([timelineBefore.walFile]);
        // Every acknowledged row reached the standbys too.
        const acked = summary.acknowledged;
        for (const n of [2, 3]) {
          await eventually(
            async () =>
              Number(
                await c.sql(
                  n,
                  `select count(*) from ${LOAD_TABLE} where seq in (${load.records
                    .filter((r) => r.outcome === "ack")
                    .map((r) => r.seq)
                    .join(",")})`,
                ),
              ) === acked,
            `instance ${n} lacks acknowledged rows`,
          );
        }
      });
    },
    TEST_TIMEOUT,
  );

  test(
    "standby stopped while the primary writes past maxSlotWalKeepSize: pg_wal bounded, slot lost, standby catches up from the archive",
    async () => {
      const name = "prt-fault-wal";
      await withDeployment(name, async (deployment) => {
        const maxSlotWalKeep = 64 * MB;
        const maxWalSize = 96 * MB;
        const config: ConfigValues = {
          clusterName: name,
          hostPort: 15830,
          image,
          standbys: 1,
          maxSlotWalKeepSize: "64MB",
          parameters: { max_wal_size: "96MB", min_wal_size: "32MB" },
        };
        const first = await deployment.up(config);
        const c = new Cluster(name, first);
        const slot = `${name.replace(/-/g, "_")}_2`;
        expect(await c.sql(1, "show max_slot_wal_keep_size")).toBe("64MB");
        expect(await c.sql(1, "show max_wal_size")).toBe("96MB");
        expect(
          await c.sql(1, `select wal_status from pg_replication_slots where slot_name = '${slot}'`),
        ).toBe("reserved");
        await c.sql(1, "create table bloat (id int, pad text)");

        await docker(["stop", `${name}-2`]);
        const startLsn = await c.sql(1, "select pg_current_wal_lsn()");

        // Sample pg_wal's size all along the writes.
        let sampling = true;
        const samples: number[] = [];
        const sampler = (async () => {
          while (sampling) {
            const v = await c.sql(1, "select sum(size) from pg_ls_waldir()").catch(() => undefined);
            if (v !== undefined) samples.push(Number(v));
            await sleep(50);
          }
        })();
        const phase = Date.now();
        const batches = 14;
        const rowsPerBatch = 50_000;
        const statuses: string[] = [];
        try {
          for (let b = 0; b < batches; b++) {
            await psql(
              c.target(1),
              `insert into bloat select g, repeat('x', 1000) from generate_series(${
                b * rowsPerBatch + 1
              }, ${(b + 1) * rowsPerBatch}) g`,
              { timeoutMs: 180_000 },
            );
            await psql(c.target(1), "checkpoint", { timeoutMs: 180_000 });
            statuses.push(
              await c.sql(
                1,
                `select wal_status from pg_replication_slots where slot_name = '${slot}'`,
              ),
            );
          }
        } finally {
          sampling = false;
          await sampler;
        }
        timed(`writing ${batches} x ${rowsPerBatch} rows with checkpoints`, phase);
        const written = Number(
          await c.sql(1, `select pg_wal_lsn_diff(pg_current_wal_lsn(), '${startLsn}')`),
        );
        const finalWal = await walDirBytes(`${name}-1`, SUPERUSER);
        const peak = Math.max(...samples, finalWal);
        // What pg_wal may hold: at most max_slot_wal_keep_size behind the last checkpoint's redo
        // point (the slot may hold no more), plus the WAL written since that checkpoint (another
        // checkpoint starts before it reaches max_wal_size), plus segments recycled for reuse
        // (their number is capped so that pg_wal does not exceed max_wal_size for them).
        const bound = maxSlotWalKeep + 2 * maxWalSize;
        console.log(
          `measured: WAL written while the standby was stopped ${mb(written)}; pg_wal peak ${mb(
            peak,
          )} (${samples.length} samples), after the last checkpoint ${mb(finalWal)}; bound ${mb(
            bound,
          )} = max_slot_wal_keep_size + 2 x max_wal_size; slot status after each batch: ${statuses.join(",")}`,
        );
        expect(written).toBeGreaterThan(2 * bound);
        expect(peak).toBeLessThan(bound);
        expect(
          await c.sql(1, `select wal_status from pg_replication_slots where slot_name = '${slot}'`),
        ).toBe("lost");

        const rows = await c.sql(1, "select count(*) from bloat");
        const target = await c.sql(1, "select pg_current_wal_lsn()");
        const restartPhase = Date.now();
        const since = new Date(restartPhase - 1000).toISOString();
        await docker(["start", `${name}-2`]);
        await eventually(
          async () => (await c.sql(2, "select count(*) from bloat")) === rows,
          `the standby did not catch up (${rows} rows on the primary)`,
          180_000,
        );
        timed("standby caught up after its restart", restartPhase);
        const standbyLog = await docker(["logs", "--since", since, `${name}-2`]);
        const log = `${standbyLog.stdout}${standbyLog.stderr}`;
        const restored = (log.match(/restored log file "[0-9A-F]{24}" from archive/g) ?? []).length;
        console.log(
          `measured: WAL from ${startLsn} to ${target} on the primary; after its restart the standby ` +
            `restored ${restored} WAL segments from the archive and replayed up to ` +
            `${await c.sql(2, "select pg_last_wal_replay_lsn()")}`,
        );
        expect(restored).toBeGreaterThan(0);

        // And it streams again (the product has to give it a usable slot back).
        try {
          await eventually(
            async () =>
              (await c.sql(2, "select status from pg_stat_wal_receiver")) === "streaming" &&
              (await c.streaming(1)).includes(`${name}-2`),
            "the standby does not stream from the primary again after catching up from the archive",
            60_000,
          );
        } catch (err) {
          const slotNow = await c.sql(
            1,
            `select concat_ws(',', slot_name, active, wal_status, restart_lsn) from pg_replication_slots`,
          );
          const receiver = log
            .split("\n")
            .filter((l) => /invalidated|could not receive|FATAL|ERROR/.test(l))
            .slice(-5)
            .join("\n");
          throw new Error(
            `${(err as Error).message}\nslots on the primary: ${slotNow}\nstandby log:\n${receiver}`,
          );
        }
        const slotAfter = await c.sql(
          1,
          `select concat_ws(',', active, wal_status, restart_lsn) from pg_replication_slots where slot_name = '${slot}'`,
        );
        const logAfter = await docker(["logs", "--since", since, `${name}-2`]);
        const streamedFrom = `${logAfter.stdout}${logAfter.stderr}`.match(
          /started streaming WAL from primary at \S+ on timeline \d+/g,
        );
        console.log(
          `measured: the standby streams again (${streamedFrom?.join("; ")}); its slot: ${slotAfter}`,
        );
        expect(slotAfter).toMatch(/^t,(reserved|extended),/);
      });
    },
    TEST_TIMEOUT,
  );

  test(
    "primary cut off from the network, failover by config: never two writers, the old primary fenced and rejoined",
    async () => {
      const name = "prt-fault-part";
      await withDeployment(name, async (deployment) => {
        const config: ConfigValues = { clusterName: name, hostPort: 15840, image, standbys: 1 };
        const first = await deployment.up(config);
        let c = new Cluster(name, first);
        const network = first.outputs.network as string;
        const containers = [`${name}-1`, `${name}-2`];
        await c.sql(
          1,
          "create table p (id int primary key, at text); insert into p values (1, 'before')",
        );
        await eventually(
          async () => (await c.sql(2, "select count(*) from p")) === "1",
          "the standby lacks the first row",
        );

        // Through the published ports (what clients see) and through docker exec (which still
        // sees the instance cut off from the network).
        const poller = new WritablePoller(() => c, 2);
        const execPoller = new ExecWritablePoller(containers, SUPERUSER);
        const statusOf1 = new Set<string>();
        let watching = true;
        const watcher = (async () => {
          while (watching) {
            statusOf1.add(await containerStatus(`${name}-1`));
            await sleep(250);
          }
        })();
        // What went wrong during the partition is collected, so that the scenario still goes on
        // to heal the partition and check the end state and the writability record.
        const problems: string[] = [];
        try {
          await docker(["network", "disconnect", network, `${name}-1`]);
          // Still a primary on its own side of the partition.
          expect(await sqlIn(`${name}-1`, SUPERUSER, "select pg_is_in_recovery()")).toBe("f");

          let phase = Date.now();
          // Instance 1 cannot reach instance 2 until the network is back, so this up may
          // fail at the rejoin's streaming check; it must still have failed over.
          const outcome = await deployment.up({ ...config, primary: 2 }).then(
            () => "succeeded",
            (e: Error) => e.message,
          );
          timed("failover by config while instance 1 is partitioned", phase);
          const tail = outcome.split("\n").slice(-4).join(" | ");
          console.log(`measured: up while instance 1 was cut off: ${tail}`);
          if (
            outcome !== "succeeded" &&
            !outcome.includes(`${name}-1 is not streaming from ${name}-2`)
          ) {
            problems.push(
              `the up failed for another reason than the rejoin's streaming check: ${tail}`,
            );
          }
          const role2 = await sqlIn(`${name}-2`, SUPERUSER, "select pg_is_in_recovery()");
          if (role2 !== "f") {
            problems.push("instance 2 was not promoted while instance 1 was cut off");
          }
          if (
            !deployment.output.includes(
              `failover: ${name}-1 is running but ${name}-2 cannot stream from it; fencing ${name}-1 (stopped)`,
            ) ||
            !statusOf1.has("exited")
          ) {
            problems.push(
              `instance 1 was not fenced by the failover (states seen: ${[...statusOf1].join(",")})`,
            );
          }
          const role1 = await sqlIn(`${name}-1`, SUPERUSER, "select pg_is_in_recovery()").catch(
            (e: Error) => `unreachable: ${e.message.split("\n")[0]}`,
          );
          if (role1 !== "t") {
            problems.push(
              `instance 1 is not a read-only standby after the failover (in recovery: ${role1})`,
            );
          }

          await docker(["network", "connect", "--alias", `${name}-1`, network, `${name}-1`]);
          phase = Date.now();
          const healed = await deployment.up({ ...config, primary: 2 });
          timed("up after the partition healed", phase);
          c = new Cluster(name, healed);
          expect(healed.outputs.primary).toBe(`${name}-2`);
          expect(await c.streaming(2)).toEqual([`${name}-1`]);
          expect(await c.writable(2)).toBe(true);
          expect(await c.writable(1)).toBe(false);
          await c.sql(2, "insert into p values (2, 'after')");
          await eventually(
            async () => (await c.sql(1, "select count(*) from p")) === "2",
            "the old primary does not replicate from the new one",
          );
        } finally {
          watching = false;
          await watcher;
          await poller.stop();
          await execPoller.stop();
          console.log(
            `measured: partition: ${execPoller.samples} docker-exec samples, ${poller.samples} port samples; ` +
              `instance 1 states seen ${[...statusOf1].join(",")}; ever writable ${[
                ...execPoller.everWritable,
              ].join(
                ",",
              )}; two writers seen: ${poller.splitBrain.length + execPoller.splitBrain.length}`,
          );
        }
        expect(poller.splitBrain).toEqual([]);
        expect(execPoller.splitBrain).toEqual([]);
        expect(poller.samples).toBeGreaterThan(5);
        expect(execPoller.samples).toBeGreaterThan(5);
        expect(problems).toEqual([]);
      });
    },
    TEST_TIMEOUT,
  );
});
