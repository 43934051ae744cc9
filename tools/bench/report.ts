/** The Markdown tables and report (pure). */
import { NamedChart } from "./charts";
import { max, median } from "./stats";
import { cloneRows, lagRows, outageRows, provisioningRows, tpsRows } from "./summary";
import { BenchResults } from "./types";

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Fixed decimals; "–" for a missing or non-finite value. */
export function num(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : "–");

/** The result tables, one `###` section per measurement: printed and put in the report. */
export function resultTables(r: BenchResults): string {
  const sections: string[] = [];
  if (r.provisioning) {
    sections.push(
      "### 1. Provisioning time against the number of standbys",
      markdownTable(
        [
          "standbys",
          "runs",
          "first up, wall (s)",
          "harness total (s)",
          "longest clone (s)",
          "sum of clones (s)",
          "clones one after another, est. (s)",
          "measured / est.",
          "serial build 0→n (s)",
        ],
        provisioningRows(r.provisioning).map((p) => [
          String(p.standbys),
          String(p.runs),
          num(p.wallSeconds),
          num(p.engineSeconds),
          num(p.longestJoinSeconds),
          num(p.sumJoinSeconds),
          num(p.serialEstimateSeconds),
          num(p.ratio, 2),
          num(p.serialBuildSeconds),
        ]),
      ),
    );
  }
  if (r.clone) {
    sections.push(
      "### 2. Standby build time against data size",
      markdownTable(
        [
          "pgbench scale",
          "databases (MB)",
          "data dir (MB)",
          "of which pg_wal (MB)",
          "new standby (MB)",
          "-join (s)",
          "-join (MB/s)",
          "cp -a (s)",
          "cp -a + sync (s)",
          "cp -a + sync (MB/s)",
          "-join / bound",
        ],
        cloneRows(r.clone).map((c) => [
          String(c.scale),
          num(c.databaseMB, 0),
          num(c.dataDirMB, 0),
          num(c.walMB, 0),
          num(c.standbyMB, 0),
          num(c.joinSeconds),
          num(c.joinMBps, 0),
          num(c.cpSeconds),
          num(c.cpSyncSeconds),
          num(c.cpMBps, 0),
          num(c.slowdown, 2),
        ]),
      ),
    );
  }
  if (r.outage) {
    sections.push(
      "### 3. Write outage of a switchover and of a failover",
      markdownTable(
        [
          "kind",
          "runs",
          "outage median (ms)",
          "min (ms)",
          "max (ms)",
          "runs without timeline switch seen",
          "up, median (s)",
          "up failed",
          "acknowledged rows lost",
          "writes failed / unknown",
        ],
        outageRows(r.outage).map((o) => [
          o.kind,
          String(o.runs),
          num(o.medianOutageMs, 0),
          num(o.minOutageMs, 0),
          num(o.maxOutageMs, 0),
          String(o.longestGapFallbacks),
          num(o.medianUpSeconds),
          `${o.failedUps} of ${o.runs}`,
          String(o.lostAcknowledged),
          `${o.failedWrites} / ${o.unknownOutcomes}`,
        ]),
      ),
    );
  }
  if (r.lag) {
    sections.push(
      "### 4. Replication lag under pgbench -c 4",
      markdownTable(
        [
          "mode",
          "standby",
          "samples",
          "caught up (null)",
          "sync_state",
          "write p50/p99 (ms)",
          "flush p50/p99 (ms)",
          "replay p50/p99 (ms)",
        ],
        lagRows(r.lag).map((l) => [
          l.mode,
          l.standby,
          String(l.samples),
          String(l.caughtUpSamples),
          l.syncStates,
          `${num(l.writeP50)} / ${num(l.writeP99)}`,
          `${num(l.flushP50)} / ${num(l.flushP99)}`,
          `${num(l.replayP50)} / ${num(l.replayP99)}`,
        ]),
      ),
      markdownTable(
        ["mode", "synchronous_standby_names", "pgbench TPS", "TPS cost vs async"],
        tpsRows(r.lag).map((t) => [
          t.mode,
          t.synchronousStandbyNames === "" ? "(empty)" : `\`${t.synchronousStandbyNames}\``,
          num(t.tps, 0),
          t.mode === "async" ? "–" : pct(t.costVsAsync),
        ]),
      ),
    );
  }
  if (r.automatic) {
    const a = r.automatic;
    const outages = a.failovers.map((f) => f.outageMs);
    const rejoins = a.failovers.map((f) => f.rejoinMs);
    sections.push(
      "### 5. Automatic failover (Patroni + etcd, synchronousStandbys 1)",
      markdownTable(
        ["kill", "killed leader", "new leader", "write outage (ms)", "rejoin as replica (ms)"],
        a.failovers.map((f, i) => [
          String(i + 1),
          f.victim,
          f.successor,
          String(f.outageMs),
          String(f.rejoinMs),
        ]),
      ),
      markdownTable(
        ["", ""],
        [
          ["failover outage, median / max (ms)", `${median(outages)} / ${max(outages)}`],
          ["rejoin, median / max (ms)", `${median(rejoins)} / ${max(rejoins)}`],
          ["rows acknowledged / lost over the kills", `${a.rowsAcknowledged} / ${a.rowsLost}`],
          [
            "writability samples / with two writers",
            `${a.writabilitySamples} / ${a.samplesWithTwoWriters}`,
          ],
          [
            `switchover ${a.switchover.from} -> ${a.switchover.to}: longest write gap (ms)`,
            String(a.switchover.outageMs),
          ],
          [
            "switchover: rows lost, up (s)",
            `${a.switchover.rowsLost}, ${num(a.switchover.upSeconds)}`,
          ],
        ],
      ),
    );
  }
  if (r.errors.length > 0) {
    sections.push("### Failed measurements", r.errors.map((e) => `- ${e}`).join("\n"));
  }
  return sections.join("\n\n") + "\n";
}

function machineSection(r: BenchResults): string {
  const m = r.machine;
  return markdownTable(
    ["", ""],
    [
      ["date", m.date],
      ["nproc", String(m.nproc)],
      ["memory", `${m.memoryGiB} GiB`],
      ["CPU model", m.cpuModel],
      ["kernel", m.kernel],
      ["Docker server", m.dockerServerVersion],
      ["PostgreSQL", m.postgresVersion],
      ["image", `\`${m.image}\``],
      ["Node.js", m.node],
      ["load average at start (1/5/15 min)", m.loadAverageAtStart.join(" / ")],
      ["other containers running at start", String(m.otherContainersAtStart)],
      ["mode", r.plan.quick ? "`--quick`" : "full"],
      ["duration", `${(r.durationSeconds / 60).toFixed(1)} min`],
    ],
  );
}

function method(plan: BenchResults["plan"]): string {
  return `- Everything runs through the live harness (\`tools/live\`, a stand-in for the Pulumi
  engine; \`LiveDeployment\` from \`tests/live/drivers/live-driver.ts\`) against real Docker
  and PostgreSQL, one cluster per measurement (\`prb-*\`, host ports 16000-16199), destroyed
  afterwards. Wall times include starting the harness process (ts-node), about 2-3 s per \`up\`.
- Clone durations are the harness's per-resource seconds of the \`<cluster>-<n>-join\`
  commands (\`pg_basebackup -Xs --checkpoint=fast\` inside a throwaway container).
- **1.** Fresh cluster per standby count. "Clones one after another, est." is the measured
  wall time minus the longest clone plus the sum of all clones. Clones that run in parallel
  share two cores and one disk, so each is slower than it would be alone and the estimate
  overstates the serial cost; the serial build (one \`up\` per added standby, summed,
  starting from the \`up\` of 0 standbys) is the honest serial comparison.
- **2.** \`pgbench -i -s N\`, \`CHECKPOINT\`, then \`up\` with one standby more; afterwards
  \`cp -a\` of the primary's data volume into a new volume in a throwaway container, timed
  inside it, followed by \`sync -f\` (pg_basebackup syncs its copy too). The standby is removed
  (\`up\` with 0 standbys) before the next scale. MB/s: bytes of the new standby's data
  directory per second of \`-join\`; bytes of the primary's data directory (pg_wal included)
  per second of cp + sync. The page cache is warm for both (data just written).
- **3.** \`WriteLoad\` (tests/support/write-load.ts, one psql per insert, 20 ms pause)
  through the \`readWriteUri\` output, three instances; outage = last acknowledged insert on
  the old timeline to the first on the new one, else the longest gap between
  acknowledgements; each row's timeline is the one the server returned. Switchover: \`up\`
  with the next instance as \`primary\`, the runs one after another on one cluster
  (1→2→3→1). Failover (each run on a fresh cluster, 1→2): \`docker kill -s KILL\` of the
  primary (its container stays, exited, as after a crash), then at once \`up --refresh\` with
  the next instance as \`primary\`; the old primary is rewound and rejoins as a standby. The outage therefore includes the harness start and the refresh. Lost rows:
  acknowledged inserts missing on the new primary afterwards.
- **4.** Two standbys, \`pgbench -i -s ${plan.lagScale}\`, then \`pgbench -c 4 -T ${plan.lagSeconds}\` inside the
  primary container while \`pg_stat_replication\` is sampled every 200 ms through the published
  port; NULL lag (standby caught up) counts as 0 ms. Then \`synchronousStandbys: 1\` (a config
  change and \`up\`, applied by reload: \`ANY 1 (*)\`) and the same load again.
- Percentiles interpolate linearly between closest ranks.`;
}

export function renderReport(r: BenchResults, charts: readonly NamedChart[]): string {
  const notes = observations(r);
  return [
    `# postgres-replication benchmark${r.plan.quick ? " (quick run)" : ""}`,
    "",
    "Produced by `npm run bench" +
      (r.plan.quick ? " -- --quick" : "") +
      "` (tools/bench). Raw figures: [results.json](results.json).",
    "",
    "## Machine",
    "",
    machineSection(r),
    "",
    "## Results",
    "",
    resultTables(r),
    "## Charts",
    "",
    ...charts.map((c) => `![${c.chart.title}](${c.file})\n`),
    "## Method",
    "",
    method(r.plan),
    "",
    ...(notes.length === 0
      ? []
      : ["## Observations (computed)", "", ...notes.map((n) => `- ${n}`), ""]),
  ].join("\n");
}

/** Plain statements computed from the figures. */
export function observations(r: BenchResults): string[] {
  const notes: string[] = [];
  if (r.provisioning) {
    const rows = provisioningRows(r.provisioning);
    const largest = rows[rows.length - 1];
    if (largest && largest.standbys > 0) {
      notes.push(
        `With ${largest.standbys} standbys the first \`up\` took ${num(largest.wallSeconds)} s; ` +
          `cloning one after another would take about ${num(largest.serialEstimateSeconds)} s ` +
          `(ratio ${num(largest.ratio, 2)})` +
          (largest.serialBuildSeconds === undefined
            ? "."
            : `, and building it one standby per \`up\` took ${num(largest.serialBuildSeconds)} s.`),
      );
    }
  }
  if (r.clone && r.clone.length > 0) {
    const rows = cloneRows(r.clone);
    const big = rows[rows.length - 1];
    notes.push(
      `At scale ${big.scale} (${num(big.dataDirMB, 0)} MB) a standby clone ran at ${num(big.joinMBps, 0)} MB/s, ` +
        `${num(big.slowdown, 2)}× the time of cp -a + sync (${num(big.cpMBps, 0)} MB/s).`,
    );
  }
  if (r.outage) {
    for (const o of outageRows(r.outage)) {
      notes.push(
        `${o.kind}: median write outage ${num(o.medianOutageMs / 1000, 2)} s over ${o.runs} run(s); ` +
          `${o.lostAcknowledged} acknowledged row(s) lost.`,
      );
      if (o.failedUps > 0) {
        notes.push(
          `${o.failedUps} of ${o.runs} ${o.kind} \`up\`s failed after the promotion, while the old ` +
            "primary rejoined (see Failed measurements); the outage was still measured from the " +
            "client's side, since writes resume on the new primary before the rejoin.",
        );
      }
    }
  }
  if (r.lag) {
    const sync = tpsRows(r.lag).find((t) => t.mode === "sync");
    if (sync)
      notes.push(`synchronousStandbys 1 cost ${pct(sync.costVsAsync)} of the asynchronous TPS.`);
  }
  return notes;
}
