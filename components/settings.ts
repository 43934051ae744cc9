import {
  BackupSettings,
  DEFAULT_BACKUP,
  RestoreSettings,
  backupProblems,
  normaliseBackup,
  normaliseRestore,
  restoreProblems,
} from "./backup-settings";
import { parameterContexts, parameterValueProblem } from "./parameter-values";
import { PROBE_USER } from "./names";
import { nearest } from "./suggest";

/** A value for one extra `postgresql.conf` setting. */
export type ParameterValue = string | number | boolean;

/**
 * Everything about a replica set that is plain data: it drives loops, names and the rendered
 * configuration, so it has to be known while the program is being built. Passwords are not
 * here; they arrive as Pulumi inputs on the component's args.
 */
export interface ReplicaSetSettings {
  /**
   * Docker network name and prefix of every container and volume name.
   * @default "postgres"
   */
  readonly clusterName: string;
  /**
   * Number of standbys; instances are numbered 1 … standbys + 1.
   * @default 1
   */
  readonly standbys: number;
  /**
   * Number of the instance that is primary. Changing it is a switchover or failover.
   * @default 1
   */
  readonly primary: number;
  /**
   * Any image honouring the official postgres image's contract.
   * @default "postgres:15"
   */
  readonly image: string;
  /**
   * Host port of instance 1; instance n is published on hostPort + n - 1.
   * @default 5000
   */
  readonly hostPort: number;
  /**
   * Host port of the read-write endpoint (always the current primary); the read-only endpoint
   * (the standbys, else the primary) is endpointPort + 1. Both bind to bindAddress.
   * @default 5100
   */
  readonly endpointPort: number;
  /**
   * Host address the published ports bind to.
   * @default "127.0.0.1"
   */
  readonly bindAddress: string;
  /**
   * Database created on first start.
   * @default "postgresdb"
   */
  readonly database: string;
  /**
   * Superuser name.
   * @default "postgresadmin"
   */
  readonly superuser: string;
  /**
   * Role used by standbys to stream; it has REPLICATION and LOGIN only.
   * @default "replicationUser"
   */
  readonly replicationUser: string;
  /**
   * Role pg_rewind connects as when a former primary rejoins: LOGIN plus EXECUTE on the four
   * file-access functions PostgreSQL's pg_rewind documentation lists, nothing else.
   * @default "rewinder"
   */
  readonly rewindUser: string;
  /**
   * Lets a change of `primary` promote a standby that is behind another running standby,
   * losing the transactions only the other one received. Without it such a failover is refused.
   * @default false
   */
  readonly acceptDataLoss: boolean;
  /**
   * Connection limit of the replication role (the tutorial's `createuser -c 5`).
   * @default 5
   */
  readonly replicationConnectionLimit: number;
  /**
   * 0 for asynchronous replication; k >= 1 makes a commit wait for any k standbys.
   * @default 0
   */
  readonly synchronousStandbys: number;
  /**
   * One physical replication slot per standby on the primary.
   * @default true
   */
  readonly replicationSlots: boolean;
  /**
   * Bound on the WAL a lagging slot may hold back (PostgreSQL size, e.g. "1GB").
   * @default "1GB"
   */
  readonly maxSlotWalKeepSize: string;
  /**
   * Archive WAL to a volume shared by every instance, used by standbys as restore_command.
   * @default true
   */
  readonly walArchive: boolean;
  /**
   * Extra postgresql.conf settings, name -> value.
   * @default {}
   */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  /**
   * pgBackRest: WAL archive, scheduled full backups, retention. See BackupSettings.
   * @default { enabled: true, schedule: "0 3 * * *", retentionFull: 2, keepOnDestroy: true }
   */
  readonly backup: BackupSettings;
  /**
   * Start the primary from another cluster's backup repository instead of initdb.
   * @default undefined (initdb)
   */
  readonly restore?: RestoreSettings;
  /**
   * Who changes the primary: `manual` (a change of `primary` and `pulumi up`) or `automatic`
   * (Patroni with an etcd cluster elects it; `primary` names the preferred leader).
   * @default "manual"
   */
  readonly failover: FailoverMode;
  /**
   * Number of etcd members in automatic mode: 1 (development only), 3 or 5.
   * @default 3
   */
  readonly etcdMembers: number;
}

/** The two ways the primary can change. */
export type FailoverMode = "manual" | "automatic";
export const FAILOVER_MODES: readonly FailoverMode[] = ["manual", "automatic"];
/** etcd cluster sizes allowed: odd, so a majority survives the loss of (size - 1) / 2 members. */
export const ETCD_MEMBER_COUNTS: readonly number[] = [1, 3, 5];

/** The problem with a `failover` value, or undefined when it is one of the two modes. */
export function failoverProblem(value: unknown): string | undefined {
  return FAILOVER_MODES.includes(value as FailoverMode)
    ? undefined
    : `failover: ${show(value)} is not allowed; expected "manual" or "automatic"`;
}

/** The problem with an `etcdMembers` value, or undefined when it is 1, 3 or 5. */
export function etcdMembersProblem(value: unknown): string | undefined {
  return typeof value === "number" && ETCD_MEMBER_COUNTS.includes(value)
    ? undefined
    : `etcdMembers: ${show(value)} is not allowed; expected 1, 3 or 5 (1 is for development only)`;
}

export const DEFAULT_SETTINGS: ReplicaSetSettings = {
  clusterName: "postgres",
  standbys: 1,
  primary: 1,
  image: "postgres:15",
  hostPort: 5000,
  endpointPort: 5100,
  bindAddress: "127.0.0.1",
  database: "postgresdb",
  superuser: "postgresadmin",
  replicationUser: "replicationUser",
  rewindUser: "rewinder",
  acceptDataLoss: false,
  replicationConnectionLimit: 5,
  synchronousStandbys: 0,
  replicationSlots: true,
  maxSlotWalKeepSize: "1GB",
  walArchive: true,
  parameters: {},
  failover: "manual",
  etcdMembers: 3,
  backup: DEFAULT_BACKUP,
};

/**
 * The most standbys a replica set may have. The sender and slot limits in postgresql.conf are
 * fixed (so that scaling never rewrites the configuration of existing instances) and sized
 * for this many standbys streaming while as many clones are in progress.
 */
export const MAX_STANDBYS = 15;
export const MAX_WAL_SENDERS = 2 * MAX_STANDBYS + 2;
export const MAX_REPLICATION_SLOTS = MAX_STANDBYS + 2;
/**
 * With the WAL archive on, a segment that has WAL in it is archived after at most this long
 * even when it is not full: what the archive (and so a restore) may miss is bounded in time,
 * not only by the 16 MB a quiet database takes long to fill. `parameters.archive_timeout`
 * overrides it.
 */
export const ARCHIVE_TIMEOUT = "60s";

/**
 * Settings the component derives itself; `parameters` may not override them because the
 * replication machinery depends on their values. The value names the config key to use
 * instead, where there is one.
 */
export const MANAGED_PARAMETERS: Readonly<Record<string, string | undefined>> = {
  config_file: undefined,
  data_directory: undefined,
  hba_file: undefined,
  ident_file: undefined,
  port: "hostPort (the container always listens on 5432)",
  listen_addresses: "bindAddress",
  cluster_name: "clusterName",
  password_encryption: undefined,
  wal_level: undefined,
  wal_log_hints: undefined,
  hot_standby: undefined,
  archive_mode: "walArchive",
  archive_command: "walArchive",
  archive_library: "walArchive",
  restore_command: "walArchive",
  recovery_target_timeline: undefined,
  primary_conninfo: "primary",
  primary_slot_name: "replicationSlots",
  synchronous_standby_names: "synchronousStandbys",
  max_slot_wal_keep_size: "maxSlotWalKeepSize",
};

/** Raised for invalid settings; the message names every bad key, its value and what is allowed. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid postgres-replication configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "SettingsError";
  }
}

const CLUSTER_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
const PARAMETER_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const WAL_SIZE = /^(-1|0|[1-9][0-9]*(kB|MB|GB|TB)?)$/;
const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** The PostgreSQL 15 context of a parameter name (`postmaster`, `sighup`, …), if it is one. */
export function parameterContext(name: string): string | undefined {
  const contexts: Record<string, string> = parameterContexts;
  return Object.prototype.hasOwnProperty.call(contexts, name) ? contexts[name] : undefined;
}

function parameterProblems(parameters: unknown): string[] {
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) {
    return [
      `parameters: ${show(parameters)} is not allowed; expected an object of name -> value, ` +
        `set as \`pulumi config set --path 'parameters.work_mem' 16MB\` or ` +
        `\`pulumi config set parameters '{"work_mem":"16MB"}'\``,
    ];
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(parameters)) {
    const key = `parameters.${name}`;
    let corePostgresParameter = false;
    if (!PARAMETER_NAME.test(name)) {
      problems.push(`${key}: ${show(name)} is not a PostgreSQL parameter name`);
    } else if (name in MANAGED_PARAMETERS) {
      const instead = MANAGED_PARAMETERS[name];
      problems.push(
        `${key}: "${name}" is managed by postgres-replication and cannot be set` +
          (instead ? `; use the config key ${instead}` : ""),
      );
    } else if (!name.includes(".") && parameterContext(name) === undefined) {
      const meant = nearest(name, Object.keys(parameterContexts));
      problems.push(
        `${key}: "${name}" is not a PostgreSQL 15 parameter` +
          (meant ? `; did you mean ${meant}?` : "") +
          ' (extension settings are written as "extension.name")',
      );
    } else {
      // An extension's settings are defined by the extension when it loads; their values can
      // only be checked by the server.
      corePostgresParameter = !name.includes(".");
    }
    const validValue =
      (typeof value === "string" && !/[\n\r\0]/.test(value)) ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value));
    if (!validValue) {
      problems.push(`${key}: ${show(value)} is not allowed; expected a string, number or boolean`);
    } else if (corePostgresParameter) {
      const problem = parameterValueProblem(name, value);
      if (problem !== undefined) problems.push(problem);
    }
  }
  return problems;
}

/**
 * Checks settings against the contract. Returns every problem found (empty when valid), each
 * naming the key, the value given and what is allowed.
 */
export function settingsProblems(s: ReplicaSetSettings): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, key: keyof ReplicaSetSettings, allowed: string) => {
    if (!ok) problems.push(`${key}: ${show(s[key])} is not allowed; expected ${allowed}`);
  };
  const matches = (key: keyof ReplicaSetSettings, pattern: RegExp, allowed: string) => {
    const value = s[key];
    check(typeof value === "string" && pattern.test(value), key, allowed);
  };

  matches("clusterName", CLUSTER_NAME, "a name matching ^[a-z][a-z0-9-]{0,30}$");
  check(isInteger(s.standbys, 0, MAX_STANDBYS), "standbys", `an integer from 0 to ${MAX_STANDBYS}`);
  if (isInteger(s.standbys, 0, MAX_STANDBYS)) {
    const last = s.standbys + 1;
    if (isInteger(s.primary, 1, Number.MAX_SAFE_INTEGER) && s.primary > last) {
      problems.push(
        `primary: ${s.primary} is not allowed; expected an instance from 1 to ${last} ` +
          `(standbys = ${s.standbys} keeps instances 1 to ${last}; to remove instance ${s.primary}, ` +
          `switch over first by setting primary to one of 1 to ${last})`,
      );
    } else {
      check(isInteger(s.primary, 1, last), "primary", `an integer from 1 to ${last}`);
    }
    if (isInteger(s.hostPort, 1, 65535) && s.hostPort + s.standbys > 65535) {
      problems.push(
        `hostPort: ${s.hostPort} is not allowed with standbys = ${s.standbys}; instances use ports ` +
          `${s.hostPort} to ${s.hostPort + s.standbys}, which must stay within 1 to 65535`,
      );
    }
    if (isInteger(s.synchronousStandbys, 0, MAX_STANDBYS) && s.synchronousStandbys > s.standbys) {
      problems.push(
        `synchronousStandbys: ${s.synchronousStandbys} is not allowed; expected an integer from 0 ` +
          `to standbys (${s.standbys}): a commit cannot wait for more standbys than exist`,
      );
    }
  }
  check(isInteger(s.hostPort, 1, 65535), "hostPort", "an integer from 1 to 65535");
  check(isInteger(s.endpointPort, 1, 65534), "endpointPort", "an integer from 1 to 65534");
  if (
    isInteger(s.endpointPort, 1, 65534) &&
    isInteger(s.hostPort, 1, 65535) &&
    isInteger(s.standbys, 0, MAX_STANDBYS)
  ) {
    // The instances may grow to MAX_STANDBYS + 1 without touching the endpoints.
    const last = s.hostPort + MAX_STANDBYS;
    if (s.endpointPort + 1 >= s.hostPort && s.endpointPort <= last) {
      problems.push(
        `endpointPort: ${s.endpointPort} is not allowed; the endpoints use ports ${s.endpointPort} ` +
          `and ${s.endpointPort + 1}, which must stay outside the instances' ports ${s.hostPort} ` +
          `to ${last} (hostPort to hostPort + ${MAX_STANDBYS})`,
      );
    }
  }
  check(
    isInteger(s.synchronousStandbys, 0, MAX_STANDBYS),
    "synchronousStandbys",
    `an integer from 0 to ${MAX_STANDBYS}`,
  );
  matches("image", IMAGE_REFERENCE, "a Docker image reference such as postgres:15");
  matches("bindAddress", IPV4, "an IPv4 address such as 127.0.0.1");
  matches("database", DATABASE_NAME, "a name matching ^[A-Za-z_][A-Za-z0-9_-]{0,62}$");
  matches("superuser", ROLE_NAME, "a role name matching ^[A-Za-z_][A-Za-z0-9_]{0,62}$");
  matches("replicationUser", ROLE_NAME, "a role name matching ^[A-Za-z_][A-Za-z0-9_]{0,62}$");
  matches("rewindUser", ROLE_NAME, "a role name matching ^[A-Za-z_][A-Za-z0-9_]{0,62}$");
  if (s.replicationUser === s.superuser) {
    problems.push(
      `replicationUser: ${show(s.replicationUser)} is not allowed; it must differ from superuser`,
    );
  }
  for (const key of ["superuser", "replicationUser", "rewindUser"] as const) {
    if (s[key] === PROBE_USER) {
      problems.push(
        `${key}: ${show(s[key])} is not allowed; the endpoint proxy's probe uses that role`,
      );
    }
  }
  if (s.rewindUser === s.superuser || s.rewindUser === s.replicationUser) {
    problems.push(
      `rewindUser: ${show(s.rewindUser)} is not allowed; it must differ from superuser and replicationUser`,
    );
  }
  if (typeof s.rewindUser === "string" && /^pg_/i.test(s.rewindUser)) {
    problems.push(
      `rewindUser: ${show(s.rewindUser)} is not allowed; role names starting with pg_ are reserved by PostgreSQL`,
    );
  }
  check(typeof s.acceptDataLoss === "boolean", "acceptDataLoss", "true or false");
  check(
    isInteger(s.replicationConnectionLimit, 1, 1000),
    "replicationConnectionLimit",
    "an integer from 1 to 1000",
  );
  check(typeof s.replicationSlots === "boolean", "replicationSlots", "true or false");
  matches(
    "maxSlotWalKeepSize",
    WAL_SIZE,
    'a PostgreSQL size such as "1GB", "512MB" or "-1" (unbounded)',
  );
  check(typeof s.walArchive === "boolean", "walArchive", "true or false");
  problems.push(...parameterProblems(s.parameters));
  for (const problem of [failoverProblem(s.failover), etcdMembersProblem(s.etcdMembers)]) {
    if (problem !== undefined) problems.push(problem);
  }
  problems.push(...backupProblems(s.backup, s.walArchive));
  problems.push(...restoreProblems(s.restore, s.clusterName, s.backup, s.failover));
  return problems;
}

/** Fills in defaults for every setting not given. */
export function normaliseSettings(given: Partial<ReplicaSetSettings>): ReplicaSetSettings {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_SETTINGS, ...defined };
  // Unchecked here: a value of the wrong shape is kept for settingsProblems to report.
  const backup = normaliseBackup(given.backup, merged.walArchive) as BackupSettings;
  const restore = normaliseRestore(given.restore) as RestoreSettings | undefined;
  return { ...merged, backup, ...(restore === undefined ? {} : { restore }) };
}

/** Fills in defaults and validates; throws one SettingsError listing every problem. */
export function resolveSettings(given: Partial<ReplicaSetSettings>): ReplicaSetSettings {
  const settings = normaliseSettings(given);
  const problems = settingsProblems(settings);
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}
