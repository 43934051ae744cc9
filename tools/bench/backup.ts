/**
 * Backups (measured in the clone section's cluster, on the same data as its `cp -a` bound): a
 * full backup through `backup-now`, a pgBackRest restore of it into a fresh volume, and how long
 * WAL written under pgbench load takes to reach the repository (the RPO of losing the primary).
 */
import { docker } from "../../tests/support/docker";
import { BenchCluster, BenchContext, LONG, runOnScratchVolume } from "./cluster";
import { ArchiveLagRun, ArchiveSample, BackupRun } from "./types";

const SEGMENT_BYTES = 16 * 1024 * 1024;

/** A full backup of instance 1 and its restore into a new volume, each timed. */
export async function measureBackup(ctx: BenchContext, c: BenchCluster): Promise<BackupRun> {
  const started = performance.now();
  const { stdout } = await docker(["exec", `${c.name}-backup`, "backup-now"], LONG);
  const backupSeconds = (performance.now() - started) / 1000;
  const label = stdout.trim();
  const info = await backupInfo(c, label);
  const restore = await restoreBound(ctx, c, label);
  return { label, backupSeconds, ...info, ...restore };
}

async function backupInfo(
  c: BenchCluster,
  label: string,
): Promise<{ backupBytes: number; repositoryBytes: number }> {
  const { stdout } = await docker([
    "exec",
    "-u",
    "postgres",
    `${c.name}-backup`,
    "pgbackrest",
    "--config=/config/pgbackrest.conf",
    `--stanza=${c.name}`,
    "--output=json",
    "info",
  ]);
  type Info = { label: string; info: { size: number; repository: { size: number } } };
  const [stanza] = JSON.parse(stdout) as { backup: Info[] }[];
  const backup = stanza.backup.find((b) => b.label === label);
  if (!backup) throw new Error(`backup ${label} is not in the repository of ${c.name}`);
  return { backupBytes: backup.info.size, repositoryBytes: backup.info.repository.size };
}

/** pgBackRest restore of `label` into a fresh volume, timed inside its container, then sync. */
async function restoreBound(
  ctx: BenchContext,
  c: BenchCluster,
  label: string,
): Promise<{ restoreSeconds: number; restoreSyncSeconds: number; restoredBytes: number }> {
  const script = [
    "set -e",
    "install -d -o postgres -g postgres -m 0700 /scratch/data",
    "a=$(date +%s.%N)",
    "setpriv --reuid=postgres --regid=postgres --init-groups pgbackrest " +
      `--config=/config/pgbackrest.conf --stanza=${c.name} --pg1-path=/scratch/data ` +
      `--set=${label} --type=immediate --log-level-console=warn restore >&2`,
    "b=$(date +%s.%N)",
    "sync -f /scratch/data",
    "d=$(date +%s.%N)",
    'echo "$a $b $d $(du -sb /scratch/data | cut -f1)"',
  ].join("\n");
  const { stdout } = await runOnScratchVolume(
    ctx,
    c,
    [`${c.name}-backup:/mnt/server/archive:ro`, `${c.name}-backup-config:/config:ro`],
    script,
  );
  const [a, b, d, bytes] = stdout.trim().split(/\s+/).map(Number);
  return { restoreSeconds: b - a, restoreSyncSeconds: d - b, restoredBytes: bytes };
}

/**
 * pgbench on instance 1 for `seconds` while sampling its WAL position, the last segment in the
 * repository and the segments waiting for archive_command; sampling goes on after pgbench until
 * every sample's WAL is archived (at most archive_timeout later) or `drainSeconds` pass.
 */
export async function measureArchiveLag(
  c: BenchCluster,
  plan: { seconds: number; drainSeconds: number; intervalMs: number },
): Promise<ArchiveLagRun> {
  const archiveTimeout = await c.sqlIn(1, "show archive_timeout");
  const samples: ArchiveSample[] = [];
  const sample = async () => {
    const row = await c.sqlIn(
      1,
      "select extract(epoch from clock_timestamp()) * 1000, pg_current_wal_lsn() - '0/0'," +
        " coalesce((select last_archived_wal from pg_stat_archiver), '')," +
        " (select count(*) from pg_ls_archive_statusdir() where name like '%.ready')",
    );
    const [atMs, lsn, archived, ready] = row.split("|");
    samples.push({
      atMs: Number(atMs),
      lsn: Number(lsn),
      lastArchived: archived,
      waiting: Number(ready),
    });
  };
  let pgbenchDone = false;
  const pgbench = c
    .execIn(
      1,
      [
        "pgbench",
        "-c",
        "4",
        "-j",
        "2",
        "-T",
        String(plan.seconds),
        "-U",
        "postgresadmin",
        "postgresdb",
      ],
      LONG,
    )
    .finally(() => {
      pgbenchDone = true;
    });
  while (!pgbenchDone) {
    await sample();
    await new Promise((r) => setTimeout(r, plan.intervalMs));
  }
  const output = await pgbench;
  const loadEnd = samples.length;
  const drainUntil = Date.now() + plan.drainSeconds * 1000;
  while (
    archiveDelays(samples.slice(0, loadEnd), samples).uncovered > 0 &&
    Date.now() < drainUntil
  ) {
    await new Promise((r) => setTimeout(r, 1000));
    await sample();
  }
  const { delaysMs, uncovered } = archiveDelays(samples.slice(0, loadEnd), samples);
  const tps = /tps = ([\d.]+)/.exec(output);
  return {
    pgbenchSeconds: plan.seconds,
    tps: tps ? Number(tps[1]) : NaN,
    archiveTimeout,
    samples: loadEnd,
    delaysMs,
    uncovered,
    maxWaiting: Math.max(0, ...samples.map((s) => s.waiting)),
    walBytes: samples.length > 1 ? samples[loadEnd - 1].lsn - samples[0].lsn : 0,
  };
}

/** The LSN just past the end of a WAL segment, from its file name (16 MB segments). */
export function segmentEnd(walFile: string): number {
  if (!/^[0-9A-F]{24}$/.test(walFile)) return -1;
  const log = parseInt(walFile.slice(8, 16), 16);
  const seg = parseInt(walFile.slice(16, 24), 16);
  return log * 0x100000000 + (seg + 1) * SEGMENT_BYTES;
}

/**
 * For each of `measured`, how long until the repository held its WAL position: the first
 * sample of `all` at or after it whose last archived segment ends past that position.
 */
export function archiveDelays(
  measured: readonly ArchiveSample[],
  all: readonly ArchiveSample[],
): { delaysMs: number[]; uncovered: number } {
  const delaysMs: number[] = [];
  let uncovered = 0;
  for (const s of measured) {
    const covering = all.find(
      (later) => later.atMs >= s.atMs && segmentEnd(later.lastArchived) >= s.lsn,
    );
    if (covering) delaysMs.push(Math.round(covering.atMs - s.atMs));
    else uncovered++;
  }
  return { delaysMs, uncovered };
}
