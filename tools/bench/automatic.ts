/**
 * Measurement 5: automatic failover (`failover: automatic`, Patroni + 3 etcd members,
 * synchronousStandbys 1). A node-postgres client writes through `readWriteEndpoint` while the
 * leader is killed `runs` times with nobody running `up`; each time the killed container is
 * started again and the time until it is a streaming replica is taken. Then one switchover by
 * config (`up` with another `primary`). Every instance's writability is sampled every 200 ms.
 */
import { ExecWritablePoller } from "../../tests/live/support/faults";
import { eventually } from "../../tests/live/support/cluster";
import {
  endpointOf,
  healthy,
  leader,
  waitForHeir,
  query,
  rejoined,
  storedSeqs,
  SUPERUSER,
  Writer,
} from "../../tests/live/support/patroni";
import { docker, sleep } from "../../tests/support/docker";
import { BenchContext, withCluster } from "./cluster";
import { AutomaticResult, AutomaticFailoverRun } from "./types";

export interface AutomaticPlan {
  /** Leader kills. */
  readonly runs: number;
  /** Instances from here (a block of 16); the endpoints at here + 16 and + 17. */
  readonly port: number;
}

const NAME = "prb-auto";

export async function measureAutomatic(
  ctx: BenchContext,
  plan: AutomaticPlan,
): Promise<AutomaticResult> {
  return withCluster(ctx, NAME, plan.port, async (c) => {
    const config = {
      failover: "automatic",
      etcdMembers: 3,
      endpointPort: plan.port + 16,
      standbys: 2,
      synchronousStandbys: 1,
    };
    const first = await c.up(config);
    const password = String(first.result.outputs.superuserPassword);
    const rw = endpointOf(first.result.outputs.readWriteEndpoint);
    const three = [1, 2, 3].map((n) => c.container(n));
    await query(rw, password, "create table writes (seq int primary key)");
    const poller = new ExecWritablePoller(three, SUPERUSER, 200);
    let writer = new Writer(rw, password, 1);
    const failovers: AutomaticFailoverRun[] = [];
    try {
      await sleep(1500);
      for (let i = 0; i < plan.runs; i++) {
        await eventually(() => healthy(NAME, three), "cluster not healthy before a kill", 120_000);
        const victim = (await waitForHeir(NAME)).leader;
        await docker(["kill", victim]);
        const killedAt = Date.now();
        let successor: string | undefined;
        await eventually(
          async () => {
            successor = await leader(NAME);
            return (
              successor !== undefined &&
              successor !== victim &&
              writer.acks.some((a) => a.at > killedAt)
            );
          },
          `no new leader, or no write through it, after ${victim} was killed`,
          60_000,
        );
        const outageMs = writer.gapAround(killedAt)!;
        const startedAt = Date.now();
        await docker(["start", victim]);
        await eventually(
          () => rejoined(NAME, victim, three),
          `${victim} did not rejoin as a replica`,
          120_000,
        );
        const run = { victim, successor: successor!, outageMs, rejoinMs: Date.now() - startedAt };
        failovers.push(run);
        ctx.note(
          `  failover ${victim} -> ${run.successor}: outage ${outageMs} ms, rejoin ${run.rejoinMs} ms`,
        );
      }
      await sleep(1000);
      await writer.stop();
      const failoverAcks = writer.acks.length;
      const failoverLost = writer.lost(await storedSeqs(rw, password)).length;

      const current = (await leader(NAME))!;
      // Instance 1 is what `primary` names already (its default): naming it again asks nothing.
      const to = three.find((n) => n !== current && n !== c.container(1))!;
      const toNumber = Number(to.slice(NAME.length + 1));
      writer = new Writer(rw, password, 1_000_000);
      await sleep(1500);
      const switched = await c.up({ ...config, primary: toNumber });
      await sleep(1500);
      await writer.stop();
      const switchover = {
        from: current,
        to,
        outageMs: writer.longestGap(),
        rowsLost: writer.lost(await storedSeqs(rw, password)).length,
        upSeconds: switched.wallSeconds,
        leaderAfter: (await leader(NAME)) ?? "none",
      };
      ctx.note(
        `  switchover ${current} -> ${to}: longest write gap ${switchover.outageMs} ms, ` +
          `${switchover.rowsLost} rows lost, up ${switchover.upSeconds.toFixed(1)} s`,
      );
      await poller.stop();
      return {
        failovers,
        rowsAcknowledged: failoverAcks,
        rowsLost: failoverLost,
        writabilitySamples: poller.samples,
        samplesWithTwoWriters: poller.splitBrain.length,
        switchover,
      };
    } finally {
      await writer.stop();
      await poller.stop();
    }
  });
}
