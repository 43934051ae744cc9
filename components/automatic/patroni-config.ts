import { pgbackrestArchiveCommands } from "../backup";
import { ARCHIVE_DIR, PATRONI_DATA_DIR, containerName } from "../names";
import { readTemplate, renderTemplate } from "../render";
import {
  ARCHIVE_TIMEOUT,
  MAX_REPLICATION_SLOTS,
  MAX_WAL_SENDERS,
  ParameterValue,
  ReplicaSetSettings,
} from "../settings";
import { etcdClientHosts } from "./etcd-cluster";

/** Port of every member's REST API on the cluster network (never published). */
export const PATRONI_API_PORT = 8008;
/** User of the REST API's basic authentication (its password is generated). */
export const PATRONI_API_USER = "patroni";

/** How fast Patroni notices a lost leader; see patroniTimingProblem. */
export interface PatroniTimings {
  /** Seconds the leader key lives without renewal: the bulk of a failover's outage. */
  readonly ttl: number;
  /** Seconds between two runs of each member's HA loop. */
  readonly loopWait: number;
  /** Seconds a member keeps retrying etcd and PostgreSQL before it gives up (and a leader demotes). */
  readonly retryTimeout: number;
}

/**
 * Measured on a 2-core machine (docker kill of the leader, a client writing through the
 * read-write endpoint): Patroni's defaults (30/10/10) gave about 25 s of outage, 10/2/4 about
 * 10 s. These settle most of the difference: the leader key expires after ttl seconds, the
 * replicas watch it and race at once, HAProxy sees the new leader within about a second.
 */
export const PATRONI_TIMINGS: PatroniTimings = { ttl: 6, loopWait: 1, retryTimeout: 2 };

/**
 * Patroni's rule for timings it does not enforce itself (3.0.2): a leader must be able to
 * renew its key (one loop plus retries of etcd and of PostgreSQL) before the key expires, or it
 * loses leadership while healthy.
 */
export function patroniTimingProblem(t: PatroniTimings): string | undefined {
  const whole = [t.ttl, t.loopWait, t.retryTimeout].every((v) => Number.isInteger(v) && v >= 1);
  if (!whole) return "Patroni timings must be whole numbers of seconds, at least 1";
  if (t.loopWait + 2 * t.retryTimeout > t.ttl) {
    return (
      `Patroni timings: loop_wait (${t.loopWait}) + 2 * retry_timeout (${t.retryTimeout}) ` +
      `must not exceed ttl (${t.ttl})`
    );
  }
  return undefined;
}

/** With backups on, WAL goes through pgBackRest into the repository (mounted at ARCHIVE_DIR). */
function archiveCommand(settings: ReplicaSetSettings): string {
  return settings.backup.enabled
    ? pgbackrestArchiveCommands(settings.clusterName).archiveCommand
    : `test ! -f ${ARCHIVE_DIR}/%f && cp %p ${ARCHIVE_DIR}/%f`;
}

/**
 * Patroni's dynamic configuration (kept in etcd, the same for every member): timings,
 * synchronous mode, slots, rewind and every PostgreSQL setting.
 */
export function dynamicConfig(
  settings: ReplicaSetSettings,
  timings: PatroniTimings = PATRONI_TIMINGS,
): Record<string, unknown> {
  const problem = patroniTimingProblem(timings);
  if (problem !== undefined) throw new Error(problem);
  const parameters: Record<string, ParameterValue> = {
    wal_level: "replica",
    hot_standby: "on",
    // pg_rewind needs hint bits logged (data checksums are on too).
    wal_log_hints: "on",
    password_encryption: "scram-sha-256",
    max_wal_senders: MAX_WAL_SENDERS,
    max_replication_slots: MAX_REPLICATION_SLOTS,
    max_slot_wal_keep_size: settings.maxSlotWalKeepSize,
    wal_keep_size: settings.replicationSlots ? "0" : settings.maxSlotWalKeepSize,
    archive_mode: settings.walArchive ? "on" : "off",
    archive_command: settings.walArchive ? archiveCommand(settings) : "",
    archive_timeout: settings.walArchive ? ARCHIVE_TIMEOUT : "0",
    ...Object.fromEntries(
      Object.entries(settings.parameters).sort(([a], [b]) => a.localeCompare(b)),
    ),
  };
  return {
    ttl: timings.ttl,
    loop_wait: timings.loopWait,
    retry_timeout: timings.retryTimeout,
    // A replica further behind than this never becomes leader by itself.
    maximum_lag_on_failover: 1048576,
    // Patroni names the synchronous standbys itself and fails over only to one of them, so an
    // acknowledged commit survives the leader's loss.
    synchronous_mode: settings.synchronousStandbys > 0,
    synchronous_node_count: Math.max(settings.synchronousStandbys, 1),
    postgresql: {
      use_pg_rewind: true,
      use_slots: settings.replicationSlots,
      parameters,
    },
  };
}

/** 10-patroni.yml of one member: everything but the passwords. */
export function renderPatroniConfig(settings: ReplicaSetSettings, instance: number): string {
  return renderTemplate(readTemplate("patroni.yml"), {
    cluster: settings.clusterName,
    name: containerName(settings.clusterName, instance),
    etcdHosts: etcdClientHosts(settings.clusterName, settings.etcdMembers),
    // JSON is YAML: one line, no quoting rules of our own.
    dcs: JSON.stringify(dynamicConfig(settings)),
    dataDir: PATRONI_DATA_DIR,
    superuser: settings.superuser,
    replicationUser: settings.replicationUser,
    rewindUser: settings.rewindUser,
  });
}
