/**
 * Measurement 3: the write outage a client sees during a switchover (`up` with another
 * `primary`) and a failover (`docker kill -s KILL` of the primary,
 * then `up --refresh` with another `primary`), with a WriteLoad running through the
 * `readWriteUri` output. Switchovers run one after another on one cluster; each failover runs
 * on a fresh cluster (primary 1 lost, instance 2 promoted).
 */
import { docker, sleep } from "../../tests/support/docker";
import { createLoadTable, LOAD_TABLE, WriteLoad } from "../../tests/support/write-load";
import { BenchCluster, BenchContext, describeError, TimedUp, withCluster } from "./cluster";
import { OutageRun, SwitchKind } from "./types";

export interface OutagePlan {
  /** Runs of each kind. */
  readonly runs: number;
  /** Two blocks of ten ports from here. */
  readonly port: number;
  /** Writes before and after the role change, so both timelines are seen. */
  readonly settleMs: number;
}

const INSTANCES = 3;
const STANDBYS = INSTANCES - 1;

/** Appends each finished run to `runs` and each failed one to `errors`. */
export async function measureOutage(
  ctx: BenchContext,
  plan: OutagePlan,
  runs: OutageRun[],
  errors: string[],
): Promise<void> {
  const report = (run: OutageRun) => {
    runs.push(run);
    ctx.note(
      `  ${run.kind} ${run.from} -> ${run.to}: outage ${run.outageMs} ms (${run.outageSource}), ` +
        `${run.lostAcknowledged.length} acknowledged rows lost, up ${run.upWallSeconds.toFixed(1)}s`,
    );
  };
  await withCluster(ctx, "prb-switchover", plan.port, async (c) => {
    let current = await c.up({ standbys: STANDBYS, primary: 1 });
    await createLoadTable(current.cluster.target(1));
    let primary = 1;
    for (let i = 0; i < plan.runs; i++) {
      const to = (primary % INSTANCES) + 1;
      try {
        const measured = await oneRun(c, current, "switchover", primary, to, plan.settleMs);
        report(measured.run);
        current = measured.after;
        primary = to;
      } catch (e) {
        errors.push(`switchover ${primary} -> ${to}: ${describeError(e)}`);
        ctx.note(`  FAILED switchover ${primary} -> ${to}: ${describeError(e)}`);
        return;
      }
    }
  });
  for (let i = 0; i < plan.runs; i++) {
    try {
      await withCluster(ctx, "prb-failover", plan.port + 10, async (c) => {
        const current = await c.up({ standbys: STANDBYS, primary: 1 });
        await createLoadTable(current.cluster.target(1));
        const { run } = await oneRun(c, current, "failover", 1, 2, plan.settleMs);
        report(run);
        if (run.upError) errors.push(`failover 1 -> 2 (run ${i + 1}): up failed: ${run.upError}`);
      });
    } catch (e) {
      errors.push(`failover 1 -> 2 (run ${i + 1}): ${describeError(e)}`);
      ctx.note(`  FAILED failover 1 -> 2: ${describeError(e)}`);
    }
  }
}

async function oneRun(
  c: BenchCluster,
  before: TimedUp,
  kind: SwitchKind,
  from: number,
  to: number,
  settleMs: number,
): Promise<{ run: OutageRun; after: TimedUp }> {
  await before.cluster.sql(from, `truncate ${LOAD_TABLE}`);
  const load = new WriteLoad(String(before.result.outputs.readWriteUri));
  load.start();
  let after: TimedUp | undefined;
  let upError: string | undefined;
  try {
    await sleep(settleMs);
    if (kind === "failover") {
      // The crash: the killed container stays, exited (Docker does not restart a killed one).
      await docker(["kill", "-s", "KILL", c.container(from)]);
    }
    try {
      after = await c.up({ standbys: STANDBYS, primary: to }, { refresh: kind === "failover" });
    } catch (e) {
      // The client's outage ends when the new primary takes writes, which happens before the
      // old primary rejoins: measured even when the rejoin (and so the `up`) fails.
      if (kind === "switchover") throw e;
      upError = describeError(e);
    }
    await sleep(settleMs);
  } finally {
    await load.stop();
  }
  const summary = load.summary();
  const view = (after ?? before).cluster;
  const lost = await load.lostAcknowledged(view.target(to));
  const gap = summary.timelineSwitchGapMs;
  return {
    after: after ?? before,
    run: {
      kind,
      from,
      to,
      outageMs: gap ?? summary.longestGapMs,
      outageSource: gap === undefined ? "longestGap" : "timelineSwitchGap",
      longestGapMs: summary.longestGapMs,
      upWallSeconds: after?.wallSeconds ?? NaN,
      upError,
      attempts: summary.attempts,
      acknowledged: summary.acknowledged,
      failed: summary.failed,
      unknown: summary.unknown,
      lostAcknowledged: lost,
    },
  };
}
