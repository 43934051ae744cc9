/** Which charts the report shows, from the derived figures (pure). */
import { BarChart } from "./svg";
import { cloneRows, lagRows, outageRows, provisioningRows, tpsRows } from "./summary";
import { BenchResults } from "./types";

export interface NamedChart {
  /** File name under the results directory. */
  readonly file: string;
  readonly chart: BarChart;
}

export function reportCharts(r: BenchResults): NamedChart[] {
  const charts: NamedChart[] = [];
  if (r.provisioning) {
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
          { name: "-join (pg_basebackup)", values: rows.map((c) => c.joinSeconds) },
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
          { name: "-join (pg_basebackup)", values: rows.map((c) => c.joinMBps) },
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
