/**
 * Measurement 4: replication lag under a pgbench write load, sampled from pg_stat_replication
 * every 200 ms, asynchronous and with `synchronousStandbys: 1`, and pgbench's TPS in each mode.
 */
import { Cluster } from "../../tests/live/support/cluster";
import { psql, sleep } from "../../tests/support/docker";
import { BenchCluster, BenchContext, withCluster } from "./cluster";
import { LagRun, LagSample, ReplicationMode } from "./types";

export interface LagPlan {
  readonly standbys: number;
  readonly scale: number;
  readonly seconds: number;
  readonly port: number;
  readonly intervalMs: number;
}

const LAG_QUERY =
  "select application_name, sync_state, " +
  ["write_lag", "flush_lag", "replay_lag"]
    .map((c) => `coalesce((extract(epoch from ${c}) * 1000)::numeric(12,3)::text, '')`)
    .join(", ") +
  " from pg_stat_replication order by application_name";

export async function measureLag(ctx: BenchContext, plan: LagPlan): Promise<LagRun[]> {
  return withCluster(ctx, "prb-lag", plan.port, async (c) => {
    const first = await c.up({ standbys: plan.standbys });
    await c.execIn(
      1,
      ["pgbench", "-i", "-q", "-s", String(plan.scale), "-U", "postgresadmin", "postgresdb"],
      { timeoutMs: 10 * 60_000 },
    );
    const runs: LagRun[] = [];
    runs.push(await oneMode(c, first.cluster, "async", plan));
    const sync = await c.up({ standbys: plan.standbys, synchronousStandbys: 1 });
    runs.push(await oneMode(c, sync.cluster, "sync", plan));
    for (const r of runs) {
      ctx.note(`  ${r.mode}: ${r.tps.toFixed(0)} tps, ${r.samples.length} lag samples`);
    }
    return runs;
  });
}

async function oneMode(
  c: BenchCluster,
  cluster: Cluster,
  mode: ReplicationMode,
  plan: LagPlan,
): Promise<LagRun> {
  const synchronousStandbyNames = await c.sqlIn(1, "show synchronous_standby_names");
  await c.sqlIn(1, "checkpoint");
  const sampler = new LagSampler(cluster, plan.intervalMs);
  const started = performance.now();
  let output: string;
  try {
    output = await c.execIn(
      1,
      ["pgbench", "-c", "4", "-T", String(plan.seconds), "-U", "postgresadmin", "postgresdb"],
      { timeoutMs: (plan.seconds + 120) * 1000 },
    );
  } finally {
    await sampler.stop();
  }
  return {
    mode,
    synchronousStandbyNames,
    pgbenchSeconds: (performance.now() - started) / 1000,
    tps: Number(/tps = ([\d.]+)/.exec(output)?.[1] ?? NaN),
    transactions: Number(
      /number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? NaN,
    ),
    samples: sampler.samples,
  };
}

/** Polls pg_stat_replication on the primary (through its published port) until stopped. */
class LagSampler {
  readonly samples: LagSample[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(cluster: Cluster, intervalMs: number) {
    const started = performance.now();
    this.done = (async () => {
      while (this.running) {
        const t = performance.now();
        const rows = await psql(cluster.target(1), LAG_QUERY, { timeoutMs: 5000 }).catch(() => "");
        const atMs = Math.round(t - started);
        for (const row of rows.split("\n").filter((r) => r !== "")) {
          this.samples.push(parseRow(atMs, row));
        }
        await sleep(Math.max(0, intervalMs - (performance.now() - t)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

function parseRow(atMs: number, row: string): LagSample {
  const [standby, syncState, write, flush, replay] = row.split("|");
  const ms = (v: string | undefined): number | null => (v ? Number(v) : null);
  return {
    atMs,
    standby,
    syncState,
    writeLagMs: ms(write),
    flushLagMs: ms(flush),
    replayLagMs: ms(replay),
  };
}
