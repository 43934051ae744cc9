/** The Markdown tables and report (pure). */
import { NamedChart } from "./charts";
import { max, median, percentile } from "./stats";
import {
  backupRows,
  cloneRows,
  goalRows,
  handStepMedians,
  lagRows,
  outageRows,
  provisioningRows,
  resourceMedians,
  tpsRows,
} from "./summary";
import { BenchResults, CarriedOverSection, SECTIONS } from "./types";

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
    const goals = goalRows(r.provisioning);
    if (goals.length > 0) {
      sections.push(
        "### Goals: `up` against the tutorial typed by hand, and scaling",
        markdownTable(
          ["case", "measured (s)", "runs", "compared with (s)", "runs", "ratio", "goal", "met"],
          goals.map((g) => [
            g.name,
            num(g.measuredSeconds, 2),
            String(g.measuredRuns),
            num(g.referenceSeconds, 2),
            String(g.referenceRuns),
            num(g.ratio, 2),
            Number.isFinite(g.goal) ? `≤ ${num(g.goal, 2)}` : "–",
            Number.isFinite(g.goal) ? (g.ratio <= g.goal ? "yes" : "**no**") : "(reference)",
          ]),
        ),
      );
      const oneUp = resourceMedians(r.provisioning, 1).filter(
        (t) => t.type !== "PostgresReplicaSet",
      );
      const steps = handStepMedians(r.provisioning);
      if (oneUp.length > 0 && steps.length > 0) {
        sections.push(
          "Where the time goes (medians; resources run concurrently where the graph allows, " +
            "so they do not add up to the total):",
          markdownTable(
            ["`up`, 1 + 1: resource", "type", "s"],
            oneUp.map((t) => [`\`${t.name.replace(/^-/, "")}\``, t.type, num(t.seconds, 2)]),
          ),
          markdownTable(
            ["tutorial by hand: step", "s"],
            steps.map((st) => [st.name, num(st.seconds, 2)]),
          ),
        );
      }
    }
    sections.push(
      "### 1. Provisioning time against the number of standbys",
      markdownTable(
        [
          "standbys",
          "runs",
          "first up, wall (s)",
          "harness total (s)",
          "longest base backup (s)",
          "sum of base backups (s)",
          "clones one after another, est. (s)",
          "measured / est.",
          "serial build 0→n (s)",
        ],
        provisioningRows(r.provisioning).map((p) => [
          String(p.standbys),
          String(p.runs),
          num(p.wallSeconds),
          num(p.engineSeconds),
          num(p.longestCloneSeconds),
          num(p.sumCloneSeconds),
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
          "base backup (s)",
          "base backup (MB/s)",
          "cp -a (s)",
          "cp -a + sync (s)",
          "cp -a + sync (MB/s)",
          "base backup / bound",
        ],
        cloneRows(r.clone).map((c) => [
          String(c.scale),
          num(c.databaseMB, 0),
          num(c.dataDirMB, 0),
          num(c.walMB, 0),
          num(c.standbyMB, 0),
          num(c.cloneSeconds),
          num(c.cloneMBps, 0),
          num(c.cpSeconds),
          num(c.cpSyncSeconds),
          num(c.cpMBps, 0),
          num(c.slowdown, 2),
        ]),
      ),
    );
  }
  const backups = r.clone ? backupRows(r.clone) : [];
  if (backups.length > 0) {
    sections.push(
      "### 2b. Full backup and restore against the raw copy (goal: each at least 0.5x its MB/s)",
      markdownTable(
        [
          "pgbench scale",
          "backed up (MB)",
          "in repository, lz4 (MB)",
          "backup-now (s)",
          "backup (MB/s)",
          "restore + sync (s)",
          "restore (MB/s)",
          "cp -a + sync (MB/s)",
          "backup / cp",
          "restore / cp",
        ],
        backups.map((b) => [
          String(b.scale),
          num(b.backupMB, 0),
          num(b.repositoryMB, 0),
          num(b.backupSeconds),
          num(b.backupMBps, 0),
          num(b.restoreSeconds),
          num(b.restoreMBps, 0),
          num(b.cpMBps, 0),
          num(b.backupRatio, 2),
          num(b.restoreRatio, 2),
        ]),
      ),
    );
  }
  if (r.archive) {
    const a = r.archive;
    sections.push(
      "### 2c. Archive lag under pgbench -c 4 (the RPO of losing the primary; goal: at most archive_timeout)",
      markdownTable(
        [
          "pgbench (s)",
          "TPS",
          "WAL written (MB)",
          "archive_timeout",
          "samples",
          "until archived p50 / p99 / max (ms)",
          "not archived within 90 s",
          "most segments waiting",
        ],
        [
          [
            String(a.pgbenchSeconds),
            num(a.tps, 0),
            num(a.walBytes / 1e6, 0),
            a.archiveTimeout,
            String(a.samples),
            `${num(percentile(a.delaysMs, 50), 0)} / ${num(percentile(a.delaysMs, 99), 0)} / ${max(a.delaysMs)}`,
            String(a.uncovered),
            String(a.maxWaiting),
          ],
        ],
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
  afterwards. Wall times include starting the harness process (ts-node), about 2-3 s per \`up\`;
  the harness total ("Resources: … (N s)", printed by the harness) does not.
- Base backup durations are the harness's seconds for each new standby's \`-N-ready\` command:
  it lasts until the standby's container, which runs \`pg_basebackup -Xs --checkpoint=fast\`
  through its own slot at its first start (\`instance.sh start\`), accepts connections. In a new
  cluster that includes waiting for the primary to be created and to grant the role and slot.
- Backups (2b) are measured on the clone section's primary at each scale, after its \`cp -a\`
  bound: \`docker exec <cluster>-backup backup-now\` (a full backup, lz4, its checkpoint
  included), then \`pgbackrest restore --type=immediate\` of that backup into a fresh volume in a
  throwaway container (file copy only, no WAL replay) and \`sync -f\`. MB/s is what each moved:
  the data directory without pg_wal for the backup (pgBackRest's own size), the restored
  directory for the restore, the whole data directory for \`cp -a\` + sync.
- Archive lag (2c), at the first scale: pgbench -c 4 on the primary while a sampler reads, every
  250 ms, the WAL position and \`pg_stat_archiver.last_archived_wal\`; a sample's delay is the
  time until a later sample shows the segment holding its position archived. Sampling goes on
  after pgbench until every sample is covered (archive_timeout bounds it) or 90 s pass.
- **Goals.** The tutorial by hand is \`bench/tutorial-by-hand.sh\`: the tutorial's steps as a
  bare script with the same image (network, volumes, config files in host directories, the
  primary, \`until … pg_isready …; do sleep 1; done\` over TCP, \`CREATE ROLE … REPLICATION\`,
  \`pg_basebackup -Fp -Xs -R --checkpoint=fast\` in a throwaway container into the standby's
  volume, the standby, \`until\` the primary reports it streaming), timed by itself from its
  first command to the standby streaming. The same script polling every 0.1 s is the strictest
  reference, reported beside it. Both run before each round of \`up\`s
  (${plan.provisioningRepetitions} rounds of every standby count, then ${plan.goalRepetitions} more of 1 and 5 standbys), so the
  baselines and the \`up\`s share the machine's state. Ratios are of medians of the harness
  totals, default configuration (only \`clusterName\`, ports and \`image\` set).
- **1.** Fresh cluster per standby count. "Clones one after another, est." is the measured
  wall time minus the longest base backup plus the sum of all of them. Clones that run in parallel
  share two cores and one disk, so each is slower than it would be alone and the estimate
  overstates the serial cost; the serial build (one \`up\` per added standby, summed,
  starting from the \`up\` of 0 standbys) is the honest serial comparison.
- **2.** \`pgbench -i -s N\`, \`CHECKPOINT\`, then \`up\` with one standby more; afterwards
  \`cp -a\` of the primary's data volume into a new volume in a throwaway container, timed
  inside it, followed by \`sync -f\` (pg_basebackup syncs its copy too). The standby is removed
  (\`up\` with 0 standbys) before the next scale. MB/s: bytes of the new standby's data
  directory per second of base backup; bytes of the primary's data directory (pg_wal included)
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

/** Which sections this run measured, and from which earlier runs the others come. */
export function carriedOverNote(r: BenchResults, carried: readonly CarriedOverSection[]): string {
  const measured = SECTIONS.filter(
    (s) => r[s] !== undefined && !carried.some((c) => c.section === s),
  );
  const byRun = new Map<string, string[]>();
  for (const c of carried) byRun.set(c.startedAt, [...(byRun.get(c.startedAt) ?? []), c.section]);
  const kept = [...byRun].map(
    ([at, sections]) => `${sections.join(", ")} from the run started ${at}`,
  );
  return (
    `This run measured ${measured.join(", ") || "nothing"}; carried over unchanged: ` +
    `${kept.join("; ")}.`
  );
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
    ...(r.carriedOver ? [carriedOverNote(r, r.carriedOver), ""] : []),
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
    for (const g of goalRows(r.provisioning).filter((x) => Number.isFinite(x.goal))) {
      notes.push(
        `${g.name}: ${num(g.measuredSeconds, 2)} s against ${num(g.referenceSeconds, 2)} s, ` +
          `ratio ${num(g.ratio, 2)} (goal ≤ ${num(g.goal, 2)}: ${g.ratio <= g.goal ? "met" : "not met"}).`,
      );
    }
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
      `At scale ${big.scale} (${num(big.dataDirMB, 0)} MB) a standby clone ran at ${num(big.cloneMBps, 0)} MB/s, ` +
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
