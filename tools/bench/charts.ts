/** Which charts the report shows, from the derived figures (pure). */
import { BarChart } from "./svg";
import {
  GOAL_SCALING,
  GOAL_VS_HAND,
  cloneRows,
  goalRows,
  lagRows,
  outageRows,
  provisioningRows,
  tpsRows,
} from "./summary";
import { BenchResults } from "./types";

export interface NamedChart {
  /** File name under the results directory. */
  readonly file: string;
  readonly chart: BarChart;
}

export function reportCharts(r: BenchResults): NamedChart[] {
  const charts: NamedChart[] = [];
  if (r.provisioning) {
    const goals = goalRows(r.provisioning);
    if (goals.length > 0) {
      charts.push({
        file: "goals.svg",
        chart: {
          title: "`up` against the tutorial by hand, and 1 + 5 against 1 + 1",
          unit: "ratio of medians",
          categories: goals.map((g) =>
            g.goal === GOAL_VS_HAND
              ? "1 + 1 / by hand"
              : g.goal === GOAL_SCALING
                ? "1 + 5 / 1 + 1"
                : "1 + 1 / by hand, 0.1 s polls",
          ),
          series: [
            { name: "measured", values: goals.map((g) => g.ratio) },
            {
              name: "goal (at most)",
              values: goals.map((g) => (Number.isFinite(g.goal) ? g.goal : undefined)),
            },
          ],
        },
      });
      const vsHand = goals.find((g) => g.goal === GOAL_VS_HAND);
      const scaling = goals.find((g) => g.goal === GOAL_SCALING);
      const tight = goals.find((g) => !Number.isFinite(g.goal));
      charts.push({
        file: "goal-seconds.svg",
        chart: {
          title: "The tutorial by hand, `up` with 1 and with 5 standbys",
          unit: "seconds (median)",
          categories: ["by hand (1 s polls)", "by hand (0.1 s polls)", "up, 1 + 1", "up, 1 + 5"],
          series: [
            {
              name: "script's own total / harness total",
              values: [
                vsHand?.referenceSeconds,
                tight?.referenceSeconds,
                vsHand?.measuredSeconds ?? scaling?.referenceSeconds,
                scaling?.measuredSeconds,
              ],
            },
          ],
        },
      });
    }
    const rows = provisioningRows(r.provisioning);
    charts.push({
      file: "provisioning.svg",
      chart: {
        title: "First `up` against the number of standbys",
        unit: "seconds",
        categories: rows.map((p) => `${p.standbys} standbys`),
        series: [
          { name: "measured (parallel clones)", values: rows.map((p) => p.wallSeconds) },
          {
            name: "clones one after another (est.)",
            values: rows.map((p) => p.serialEstimateSeconds),
          },
          { name: "serial build (successive ups)", values: rows.map((p) => p.serialBuildSeconds) },
        ],
      },
    });
  }
  if (r.clone && r.clone.length > 0) {
    const rows = cloneRows(r.clone);
    const categories = rows.map((c) => `scale ${c.scale} (${c.dataDirMB.toFixed(0)} MB)`);
    charts.push({
      file: "clone-time.svg",
      chart: {
        title: "Building one standby against data size",
        unit: "seconds",
        categories,
        series: [
          { name: "base backup (pg_basebackup)", values: rows.map((c) => c.cloneSeconds) },
          { name: "cp -a + sync (bound)", values: rows.map((c) => c.cpSyncSeconds) },
        ],
      },
    });
    charts.push({
      file: "clone-throughput.svg",
      chart: {
        title: "Copy throughput",
        unit: "MB/s",
        categories,
        series: [
          { name: "base backup (pg_basebackup)", values: rows.map((c) => c.cloneMBps) },
          { name: "cp -a + sync (bound)", values: rows.map((c) => c.cpMBps) },
        ],
      },
    });
  }
  if (r.outage && r.outage.length > 0) {
    const rows = outageRows(r.outage);
    charts.push({
      file: "outage.svg",
      chart: {
        title: "Write outage seen by a client on readWriteUri",
        unit: "milliseconds",
        categories: rows.map((o) => o.kind),
        series: [
          { name: "median", values: rows.map((o) => o.medianOutageMs) },
          { name: "min", values: rows.map((o) => o.minOutageMs) },
          { name: "max", values: rows.map((o) => o.maxOutageMs) },
        ],
      },
    });
  }
  if (r.lag && r.lag.length > 0) {
    const rows = lagRows(r.lag);
    charts.push({
      file: "lag.svg",
      chart: {
        title: "Replay lag under pgbench -c 4",
        unit: "milliseconds",
        categories: rows.map((l) => `${l.mode} ${l.standby}`),
        series: [
          { name: "replay p50", values: rows.map((l) => l.replayP50) },
          { name: "replay p99", values: rows.map((l) => l.replayP99) },
          { name: "flush p99", values: rows.map((l) => l.flushP99) },
        ],
      },
    });
    const tps = tpsRows(r.lag);
    charts.push({
      file: "tps.svg",
      chart: {
        title: "pgbench TPS: asynchronous vs synchronousStandbys 1",
        unit: "transactions/s",
        categories: tps.map((t) => t.mode),
        series: [{ name: "tps", values: tps.map((t) => t.tps) }],
      },
    });
  }
  return charts;
}
