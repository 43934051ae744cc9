/**
 * Measurement 2: time to build one standby against the size of the data (pgbench scale), beside
 * the time `cp -a` takes to copy the same data directory inside a throwaway container.
 */
import { BenchCluster, BenchContext, LONG, runOnScratchVolume, withCluster } from "./cluster";
import { cloneTimings } from "./harness-log";
import { measureArchiveLag, measureBackup } from "./backup";
import { ArchiveLagRun, CloneRun } from "./types";

export interface ClonePlan {
  readonly scales: readonly number[];
  readonly port: number;
  /** pgbench seconds of the archive lag measurement, at the first scale. */
  readonly archiveLagSeconds: number;
}

/**
 * Appends each finished scale to `runs`, so a failure keeps the scales before it; the archive
 * lag, measured once after the first scale, goes to `archive.run`.
 */
export async function measureCloneBySize(
  ctx: BenchContext,
  plan: ClonePlan,
  runs: CloneRun[],
  archive: { run?: ArchiveLagRun },
): Promise<void> {
  await withCluster(ctx, "prb-clone", plan.port, async (c) => {
    await c.up({ standbys: 0 });
    for (const scale of plan.scales) {
      const run = await oneScale(ctx, c, scale);
      const b = run.backup!;
      ctx.note(
        `  clone at scale ${scale}: ${(run.dataDirBytes / 1e6).toFixed(0)} MB, base backup ` +
          `${run.cloneSeconds.toFixed(1)}s, cp -a ${run.cpSeconds.toFixed(1)}s + sync ${run.syncSeconds.toFixed(1)}s; ` +
          `full backup ${b.backupSeconds.toFixed(1)}s, restore ${b.restoreSeconds.toFixed(1)}s + sync ${b.restoreSyncSeconds.toFixed(1)}s`,
      );
      runs.push(run);
      if (archive.run === undefined) {
        archive.run = await measureArchiveLag(c, {
          seconds: plan.archiveLagSeconds,
          drainSeconds: 90,
          intervalMs: 250,
        });
        const delays = [...archive.run.delaysMs].sort((x, y) => x - y);
        ctx.note(
          `  archive lag under pgbench: ${archive.run.samples} samples, max ${delays[delays.length - 1] ?? NaN} ms, ` +
            `${archive.run.uncovered} not archived; at most ${archive.run.maxWaiting} segments waiting`,
        );
      }
      // Back to no standby (its volume and slot go), so every scale is measured alike.
      await c.up({ standbys: 0 });
    }
  });
}

async function oneScale(ctx: BenchContext, c: BenchCluster, scale: number): Promise<CloneRun> {
  const t0 = performance.now();
  await c.execIn(
    1,
    ["pgbench", "-i", "-q", "-s", String(scale), "-U", "postgresadmin", "postgresdb"],
    LONG,
  );
  const pgbenchInitSeconds = (performance.now() - t0) / 1000;
  // Dirty buffers from the load are flushed now, not by the base backup's checkpoint.
  await c.sqlIn(1, "checkpoint", LONG);
  const databaseBytes = Number(
    await c.sqlIn(1, "select sum(pg_database_size(datname))::bigint from pg_database"),
  );
  const dataDirBytes = await duBytes(c, 1, "/data");
  const walBytes = await duBytes(c, 1, "/data/pg_wal");

  const up = await c.up({ standbys: 1 });
  const clone = cloneTimings(up.resources).find((t) => t.name === `${c.name}-2-ready`);
  if (!clone) throw new Error(`no ${c.name}-2-ready among the resources the harness created`);
  const cloneSeconds = clone.seconds;
  const standbyBytes = await duBytes(c, 2, "/data");
  const copy = await copyBound(ctx, c);
  const backup = await measureBackup(ctx, c);
  return {
    scale,
    pgbenchInitSeconds,
    databaseBytes,
    dataDirBytes,
    walBytes,
    standbyBytes,
    cloneSeconds,
    upWallSeconds: up.wallSeconds,
    ...copy,
    backup,
  };
}

async function duBytes(c: BenchCluster, n: number, dir: string): Promise<number> {
  const out = await c.execIn(n, ["du", "-sb", dir], LONG);
  return Number(out.trim().split(/\s+/)[0]);
}

/** `cp -a` of the primary's data volume into a new volume: the physical bound of a clone. */
async function copyBound(
  ctx: BenchContext,
  c: BenchCluster,
): Promise<{ cpSeconds: number; syncSeconds: number; cpWallSeconds: number }> {
  const script =
    "a=$(date +%s.%N); cp -a /src/. /scratch/; b=$(date +%s.%N); sync -f /scratch; " +
    'c=$(date +%s.%N); echo "$a $b $c"';
  const { stdout, wallSeconds } = await runOnScratchVolume(
    ctx,
    c,
    [`${c.name}-1-data:/src:ro`],
    script,
  );
  const [a, b, d] = stdout.trim().split(/\s+/).map(Number);
  return { cpSeconds: b - a, syncSeconds: d - b, cpWallSeconds: wallSeconds };
}
