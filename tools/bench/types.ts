/** The raw figures of one benchmark run, as written to results.json. */

export interface MachineInfo {
  readonly date: string;
  readonly nproc: number;
  readonly memoryGiB: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly dockerServerVersion: string;
  readonly postgresVersion: string;
  readonly image: string;
  readonly node: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  readonly loadAverageAtStart: readonly number[];
  /** Running containers that are not the benchmark's (other work sharing the machine). */
  readonly otherContainersAtStart: number;
}

/** One resource line the live harness printed. */
export interface ResourceTiming {
  readonly action: string;
  readonly type: string;
  readonly name: string;
  readonly seconds: number;
}

export interface ProvisioningRun {
  readonly standbys: number;
  /** Wall time of `up` as a caller sees it (includes starting the harness process). */
  readonly wallSeconds: number;
  /** The harness's own total from its summary line ("Resources: … (N s)"). */
  readonly engineSeconds?: number;
  /** Duration of each new standby's `-join` command (its base backup, pg_basebackup). */
  readonly cloneSeconds: readonly number[];
  /** The harness's per-resource lines of this `up`. */
  readonly resources: readonly ResourceTiming[];
}

export interface SerialBuild {
  /** Wall time of each successive `up`: index k brings the cluster to k standbys. */
  readonly stepSeconds: readonly number[];
  readonly cloneSeconds: readonly number[];
}

/** One run of bench/tutorial-by-hand.sh: the tutorial's steps typed as a bare script. */
export interface HandRun {
  /** Its own total, from its first command to the standby streaming (bash start excluded). */
  readonly seconds: number;
  /** Pause between two checks of its waits (1: as people write it; 0.1: the strict variant). */
  readonly pollSeconds: number;
  readonly steps: readonly { readonly name: string; readonly seconds: number }[];
}

export interface ProvisioningResult {
  readonly runs: readonly ProvisioningRun[];
  readonly serial?: SerialBuild;
  /** The baseline, run in between the `up`s of the same benchmark run. */
  readonly byHand: readonly HandRun[];
}

export interface CloneRun {
  readonly scale: number;
  readonly pgbenchInitSeconds: number;
  /** Sum of pg_database_size over all databases of the primary. */
  readonly databaseBytes: number;
  /** `du -sb` of the primary's data directory, pg_wal included. */
  readonly dataDirBytes: number;
  readonly walBytes: number;
  /** `du -sb` of the new standby's data directory after the clone. */
  readonly standbyBytes: number;
  /** The new standby's `-join` command (its base backup, pg_basebackup). */
  readonly cloneSeconds: number;
  readonly upWallSeconds: number;
  /** `cp -a` of the primary's data volume into a fresh volume, timed inside the container. */
  readonly cpSeconds: number;
  /** `sync -f` of the copy afterwards (pg_basebackup syncs its copy too). */
  readonly syncSeconds: number;
  /** The whole `docker run --rm ... cp` including container start and stop. */
  readonly cpWallSeconds: number;
  /** A full pgBackRest backup of the same data, and its restore. */
  readonly backup?: BackupRun;
}

export interface BackupRun {
  readonly label: string;
  /** `docker exec <cluster>-backup backup-now`, wall time (its checkpoint included). */
  readonly backupSeconds: number;
  /** What pgBackRest reports it backed up (the data directory without pg_wal). */
  readonly backupBytes: number;
  /** The backup's size in the repository (lz4). */
  readonly repositoryBytes: number;
  /** `pgbackrest restore` of that backup into a fresh volume, timed inside its container. */
  readonly restoreSeconds: number;
  /** `sync -f` of the restored directory afterwards. */
  readonly restoreSyncSeconds: number;
  readonly restoredBytes: number;
}

export interface ArchiveSample {
  /** Server clock, milliseconds since the epoch. */
  readonly atMs: number;
  /** pg_current_wal_lsn() as a byte position. */
  readonly lsn: number;
  /** pg_stat_archiver.last_archived_wal ("" before the first). */
  readonly lastArchived: string;
  /** Segments waiting for archive_command (.ready files). */
  readonly waiting: number;
}

/** How long WAL written under load takes to reach the repository (the RPO of the primary). */
export interface ArchiveLagRun {
  readonly pgbenchSeconds: number;
  readonly tps: number;
  readonly archiveTimeout: string;
  readonly samples: number;
  /** Per sample taken under load: milliseconds until the repository held its WAL position. */
  readonly delaysMs: readonly number[];
  /** Samples whose WAL was not archived by the end of the drain period. */
  readonly uncovered: number;
  /** Most segments ever waiting for archive_command at once. */
  readonly maxWaiting: number;
  readonly walBytes: number;
}

export type SwitchKind = "switchover" | "failover";

export interface OutageRun {
  readonly kind: SwitchKind;
  readonly from: number;
  readonly to: number;
  /** timelineSwitchGapMs, or longestGapMs when no timeline switch was seen. */
  readonly outageMs: number;
  readonly outageSource: "timelineSwitchGap" | "longestGap";
  readonly longestGapMs: number;
  /** NaN when the `up` failed. */
  readonly upWallSeconds: number;
  /** The failover's `up` failed (after the promotion, so the outage was still measured). */
  readonly upError?: string;
  readonly attempts: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly unknown: number;
  readonly lostAcknowledged: readonly number[];
}

export interface LagSample {
  /** Milliseconds since the sampler started. */
  readonly atMs: number;
  readonly standby: string;
  readonly syncState: string;
  /** Milliseconds; null when PostgreSQL reports no lag (the standby has caught up). */
  readonly writeLagMs: number | null;
  readonly flushLagMs: number | null;
  readonly replayLagMs: number | null;
}

export type ReplicationMode = "async" | "sync";

export interface LagRun {
  readonly mode: ReplicationMode;
  readonly synchronousStandbyNames: string;
  readonly pgbenchSeconds: number;
  readonly tps: number;
  readonly transactions: number;
  readonly samples: readonly LagSample[];
}

export interface AutomaticFailoverRun {
  /** The killed leader. */
  readonly victim: string;
  readonly successor: string;
  /** Last write acknowledged before the kill to the first one after it, through readWriteEndpoint. */
  readonly outageMs: number;
  /** `docker start` of the killed leader until it runs as a replica and the set is healthy. */
  readonly rejoinMs: number;
}

export interface AutomaticResult {
  readonly failovers: readonly AutomaticFailoverRun[];
  /** Rows acknowledged during the kills, and those of them missing afterwards. */
  readonly rowsAcknowledged: number;
  readonly rowsLost: number;
  readonly writabilitySamples: number;
  readonly samplesWithTwoWriters: number;
  readonly switchover: {
    readonly from: string;
    readonly to: string;
    /** Longest gap between two acknowledged writes around the `up`. */
    readonly outageMs: number;
    readonly rowsLost: number;
    readonly upSeconds: number;
    readonly leaderAfter: string;
  };
}

export interface BenchPlan {
  readonly quick: boolean;
  readonly standbyCounts: readonly number[];
  readonly provisioningRepetitions: number;
  /** Extra runs of the goal cases (by hand, 1 and 5 standbys), interleaved. */
  readonly goalRepetitions: number;
  readonly serialBuildTo: number;
  readonly scales: readonly number[];
  /** pgbench seconds of the archive lag measurement (clone section, first scale). */
  readonly archiveLagSeconds: number;
  readonly outageRuns: number;
  readonly lagSeconds: number;
  readonly lagStandbys: number;
  readonly lagScale: number;
  readonly automaticRuns: number;
}

export interface BenchResults {
  readonly plan: BenchPlan;
  readonly machine: MachineInfo;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly provisioning?: ProvisioningResult;
  readonly clone?: readonly CloneRun[];
  /** Measured in the clone section's cluster at its first scale. */
  readonly archive?: ArchiveLagRun;
  readonly outage?: readonly OutageRun[];
  readonly lag?: readonly LagRun[];
  readonly automatic?: AutomaticResult;
  /** Measurements that failed, with their error message. */
  readonly errors: readonly string[];
  /**
   * Sections this run did not measure (`--only`), kept from the previous results in the same
   * directory, each with the start of the run that measured it.
   */
  readonly carriedOver?: readonly CarriedOverSection[];
}

/** The benchmark's sections, in the order a run measures them (`--only` picks among them). */
export const SECTIONS = ["provisioning", "clone", "outage", "lag", "automatic"] as const;
export type Section = (typeof SECTIONS)[number];

export interface CarriedOverSection {
  readonly section: string;
  readonly startedAt: string;
}
