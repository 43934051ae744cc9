/** Figures derived from the raw results (pure): what the tables and charts show. */
import { max, median, percentile, sum } from "./stats";
import {
  CloneRun,
  LagRun,
  OutageRun,
  ProvisioningResult,
  ReplicationMode,
  SwitchKind,
} from "./types";

const MB = 1e6;

export interface ProvisioningRow {
  readonly standbys: number;
  readonly runs: number;
  readonly wallSeconds: number;
  readonly engineSeconds: number;
  /** Longest single clone of the run (medians over runs). */
  readonly longestCloneSeconds: number;
  readonly sumCloneSeconds: number;
  /** The wall time had the clones run one after another: wall - longest + sum. */
  readonly serialEstimateSeconds: number;
  /** wall / serial estimate: 1 means no gain from cloning in parallel. */
  readonly ratio: number;
  /** Successive ups 0, 1, …, n standbys (cumulative), when the serial build reached n. */
  readonly serialBuildSeconds?: number;
}

export function provisioningRows(p: ProvisioningResult): ProvisioningRow[] {
  const counts = [...new Set(p.runs.map((r) => r.standbys))].sort((a, b) => a - b);
  return counts.map((standbys) => {
    const runs = p.runs.filter((r) => r.standbys === standbys);
    const longest = runs.map((r) => (r.cloneSeconds.length ? max(r.cloneSeconds) : 0));
    const sums = runs.map((r) => sum(r.cloneSeconds));
    const estimates = runs.map((r, i) => r.wallSeconds - longest[i] + sums[i]);
    const wall = median(runs.map((r) => r.wallSeconds));
    const serialSteps = p.serial?.stepSeconds;
    return {
      standbys,
      runs: runs.length,
      wallSeconds: wall,
      engineSeconds: median(runs.map((r) => r.engineSeconds ?? NaN)),
      longestCloneSeconds: median(longest),
      sumCloneSeconds: median(sums),
      serialEstimateSeconds: median(estimates),
      ratio: median(runs.map((r, i) => r.wallSeconds / estimates[i])),
      serialBuildSeconds:
        serialSteps && serialSteps.length > standbys
          ? sum(serialSteps.slice(0, standbys + 1))
          : undefined,
    };
  });
}

/** The two goals, from medians of the same benchmark run. */
export interface GoalRow {
  readonly name: string;
  /** What is measured: the harness's total of `up` ("Resources: … (N s)"), median. */
  readonly measuredSeconds: number;
  readonly measuredRuns: number;
  /** What it is compared with, median. */
  readonly referenceSeconds: number;
  readonly referenceRuns: number;
  readonly ratio: number;
  /** The ratio the goal allows at most. */
  readonly goal: number;
}

export const GOAL_VS_HAND = 1.1;
export const GOAL_SCALING = 1.3;

/** 1 + 1 against the tutorial by hand, and 1 + 5 against 1 + 1 (empty without the runs). */
export function goalRows(p: ProvisioningResult): GoalRow[] {
  const totals = (standbys: number) =>
    p.runs
      .filter((r) => r.standbys === standbys && r.engineSeconds !== undefined)
      .map((r) => r.engineSeconds as number);
  const hand = (p.byHand ?? []).filter((h) => h.pollSeconds === 1).map((h) => h.seconds);
  const tight = (p.byHand ?? []).filter((h) => h.pollSeconds !== 1).map((h) => h.seconds);
  const one = totals(1);
  const five = totals(5);
  const rows: GoalRow[] = [];
  const row = (name: string, m: number[], r: number[], goal: number) => {
    if (m.length === 0 || r.length === 0) return;
    rows.push({
      name,
      measuredSeconds: median(m),
      measuredRuns: m.length,
      referenceSeconds: median(r),
      referenceRuns: r.length,
      ratio: median(m) / median(r),
      goal,
    });
  };
  row("1 primary + 1 standby against the tutorial by hand", one, hand, GOAL_VS_HAND);
  row("1 + 5 standbys against 1 + 1", five, one, GOAL_SCALING);
  // Not a goal: the same script polling ten times a second, the strictest reference.
  row("1 + 1 against the tutorial by hand polling every 0.1 s (reference)", one, tight, NaN);
  return rows;
}

/** Median seconds per resource over the runs with `standbys`, in the order printed (pure). */
export function resourceMedians(
  p: ProvisioningResult,
  standbys: number,
): { name: string; type: string; seconds: number; runs: number }[] {
  const runs = p.runs.filter((r) => r.standbys === standbys);
  const order: string[] = [];
  const byName = new Map<string, { type: string; seconds: number[] }>();
  for (const r of runs) {
    for (const t of r.resources ?? []) {
      if (t.action !== "create") continue;
      // The cluster's name differs per run only in the benchmark's prefix: keep the suffix.
      const key = t.name.replace(/^prb-prov-\d+/, "");
      if (!byName.has(key)) {
        order.push(key);
        byName.set(key, { type: t.type, seconds: [] });
      }
      byName.get(key)!.seconds.push(t.seconds);
    }
  }
  return order.map((key) => {
    const v = byName.get(key)!;
    return { name: key, type: v.type, seconds: median(v.seconds), runs: v.seconds.length };
  });
}

/** Median seconds per step of the tutorial by hand, as typed (pure). */
export function handStepMedians(p: ProvisioningResult): { name: string; seconds: number }[] {
  const runs = (p.byHand ?? []).filter((h) => h.pollSeconds === 1);
  const names = [...new Set(runs.flatMap((h) => h.steps.map((s) => s.name)))];
  return names.map((name) => ({
    name,
    seconds: median(
      runs.flatMap((h) => h.steps.filter((s) => s.name === name)).map((s) => s.seconds),
    ),
  }));
}

export interface CloneRow {
  readonly scale: number;
  readonly databaseMB: number;
  readonly dataDirMB: number;
  readonly walMB: number;
  readonly standbyMB: number;
  readonly cloneSeconds: number;
  /** Bytes the clone wrote (the new standby's data directory) per second of base backup. */
  readonly cloneMBps: number;
  readonly cpSeconds: number;
  readonly cpSyncSeconds: number;
  /** Bytes of the primary's data directory per second of cp -a + sync. */
  readonly cpMBps: number;
  /** How many times the physical bound the clone took. */
  readonly slowdown: number;
}

export function cloneRows(runs: readonly CloneRun[]): CloneRow[] {
  return runs.map((r) => {
    const cpSync = r.cpSeconds + r.syncSeconds;
    return {
      scale: r.scale,
      databaseMB: r.databaseBytes / MB,
      dataDirMB: r.dataDirBytes / MB,
      walMB: r.walBytes / MB,
      standbyMB: r.standbyBytes / MB,
      cloneSeconds: r.cloneSeconds,
      cloneMBps: r.standbyBytes / MB / r.cloneSeconds,
      cpSeconds: r.cpSeconds,
      cpSyncSeconds: cpSync,
      cpMBps: r.dataDirBytes / MB / cpSync,
      slowdown: r.cloneSeconds / cpSync,
    };
  });
}

export interface BackupRow {
  readonly scale: number;
  readonly backupMB: number;
  readonly repositoryMB: number;
  readonly backupSeconds: number;
  readonly backupMBps: number;
  readonly restoreSeconds: number;
  readonly restoreMBps: number;
  /** cp -a + sync of the same data directory. */
  readonly cpMBps: number;
  /** Throughput against the raw copy's: the goals are at least 0.5. */
  readonly backupRatio: number;
  readonly restoreRatio: number;
}

/**
 * Full backup and restore against `cp -a` + sync of the same data directory, each as MB/s of
 * what it moved: the backup reads the data directory without pg_wal, the restore writes it back.
 */
export function backupRows(runs: readonly CloneRun[]): BackupRow[] {
  return runs.flatMap((r) => {
    const b = r.backup;
    if (!b) return [];
    const cpMBps = r.dataDirBytes / MB / (r.cpSeconds + r.syncSeconds);
    const backupMBps = b.backupBytes / MB / b.backupSeconds;
    const restoreMBps = b.restoredBytes / MB / (b.restoreSeconds + b.restoreSyncSeconds);
    return [
      {
        scale: r.scale,
        backupMB: b.backupBytes / MB,
        repositoryMB: b.repositoryBytes / MB,
        backupSeconds: b.backupSeconds,
        backupMBps,
        restoreSeconds: b.restoreSeconds + b.restoreSyncSeconds,
        restoreMBps,
        cpMBps,
        backupRatio: backupMBps / cpMBps,
        restoreRatio: restoreMBps / cpMBps,
      },
    ];
  });
}

export interface OutageRow {
  readonly kind: SwitchKind;
  readonly runs: number;
  readonly medianOutageMs: number;
  readonly minOutageMs: number;
  readonly maxOutageMs: number;
  /** Runs where no timeline switch was seen and the longest gap stood in. */
  readonly longestGapFallbacks: number;
  readonly medianUpSeconds: number;
  readonly failedUps: number;
  readonly lostAcknowledged: number;
  readonly unknownOutcomes: number;
  readonly failedWrites: number;
}

export function outageRows(runs: readonly OutageRun[]): OutageRow[] {
  const kinds: SwitchKind[] = ["switchover", "failover"];
  return kinds
    .map((kind) => runs.filter((r) => r.kind === kind))
    .filter((rs) => rs.length > 0)
    .map((rs) => ({
      kind: rs[0].kind,
      runs: rs.length,
      medianOutageMs: median(rs.map((r) => r.outageMs)),
      minOutageMs: Math.min(...rs.map((r) => r.outageMs)),
      maxOutageMs: Math.max(...rs.map((r) => r.outageMs)),
      longestGapFallbacks: rs.filter((r) => r.outageSource === "longestGap").length,
      medianUpSeconds: median(rs.map((r) => r.upWallSeconds).filter(Number.isFinite)),
      failedUps: rs.filter((r) => r.upError !== undefined).length,
      lostAcknowledged: sum(rs.map((r) => r.lostAcknowledged.length)),
      unknownOutcomes: sum(rs.map((r) => r.unknown)),
      failedWrites: sum(rs.map((r) => r.failed)),
    }));
}

export interface LagRow {
  readonly mode: ReplicationMode;
  readonly standby: string;
  readonly samples: number;
  /** Samples in which PostgreSQL reported no replay lag (caught up), counted as 0 ms. */
  readonly caughtUpSamples: number;
  readonly syncStates: string;
  readonly writeP50: number;
  readonly writeP99: number;
  readonly flushP50: number;
  readonly flushP99: number;
  readonly replayP50: number;
  readonly replayP99: number;
}

export function lagRows(runs: readonly LagRun[]): LagRow[] {
  return runs.flatMap((run) => {
    const standbys = [...new Set(run.samples.map((s) => s.standby))].sort();
    return standbys.map((standby) => {
      const ss = run.samples.filter((s) => s.standby === standby);
      const col = (pick: (s: (typeof ss)[number]) => number | null) => ss.map((s) => pick(s) ?? 0);
      const write = col((s) => s.writeLagMs);
      const flush = col((s) => s.flushLagMs);
      const replay = col((s) => s.replayLagMs);
      return {
        mode: run.mode,
        standby,
        samples: ss.length,
        caughtUpSamples: ss.filter((s) => s.replayLagMs === null).length,
        syncStates: [...new Set(ss.map((s) => s.syncState))].sort().join(","),
        writeP50: percentile(write, 50),
        writeP99: percentile(write, 99),
        flushP50: percentile(flush, 50),
        flushP99: percentile(flush, 99),
        replayP50: percentile(replay, 50),
        replayP99: percentile(replay, 99),
      };
    });
  });
}

export interface TpsRow {
  readonly mode: ReplicationMode;
  readonly synchronousStandbyNames: string;
  readonly tps: number;
  /** Fraction of the asynchronous TPS lost (0 for async). */
  readonly costVsAsync: number;
}

export function tpsRows(runs: readonly LagRun[]): TpsRow[] {
  const async = runs.find((r) => r.mode === "async")?.tps ?? NaN;
  return runs.map((r) => ({
    mode: r.mode,
    synchronousStandbyNames: r.synchronousStandbyNames,
    tps: r.tps,
    costVsAsync: 1 - r.tps / async,
  }));
}
