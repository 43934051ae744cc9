import { nearest } from "./suggest";

/** Backups of a replica set with pgBackRest (stack key `backup`). */
export interface BackupSettings {
  /**
   * Archive WAL into a pgBackRest repository and take base backups. Needs `walArchive`.
   * @default true (false when walArchive is false)
   */
  readonly enabled: boolean;
  /**
   * When scheduled full backups run: a cron expression (five fields, or @daily, @weekly, ...).
   * @default "0 3 * * *"
   */
  readonly schedule: string;
  /**
   * Full backups kept; older ones and the WAL only they need are expired.
   * @default 2
   */
  readonly retentionFull: number;
  /**
   * Keep the repository volume when the stack is destroyed.
   * @default true
   */
  readonly keepOnDestroy: boolean;
}

/** Bootstrap from another cluster's repository instead of initdb (stack key `restore`). */
export interface RestoreSettings {
  /** Cluster whose repository volume (`<fromCluster>-backup`) is restored. */
  readonly fromCluster: string;
  /**
   * `latest` (the end of the archived WAL) or a timestamp with time zone.
   * @default "latest"
   */
  readonly target: string;
}

export const DEFAULT_BACKUP: BackupSettings = {
  enabled: true,
  schedule: "0 3 * * *",
  retentionFull: 2,
  keepOnDestroy: true,
};

/** pgBackRest 2.45 accepts repo1-retention-full from 1 to 9999999. */
export const MAX_RETENTION_FULL = 9999999;

const BACKUP_KEYS = Object.keys(DEFAULT_BACKUP);
const RESTORE_KEYS = ["fromCluster", "target"];
const CLUSTER_NAME = /^[a-z][a-z0-9-]{0,30}$/;

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Fills in the defaults of `backup`. Backups need the WAL archive, so without one they are off
 * unless asked for (which validation then rejects). A value that is not an object is returned
 * as it is, for validation to report.
 */
export function normaliseBackup(given: unknown, walArchive: unknown): unknown {
  const enabled = walArchive !== false;
  if (given === undefined) return { ...DEFAULT_BACKUP, enabled };
  if (!isPlainObject(given)) return given;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_BACKUP, enabled, ...defined };
}

/** Fills in the default target of `restore`; undefined stays undefined (no restore). */
export function normaliseRestore(given: unknown): unknown {
  if (!isPlainObject(given)) return given;
  return given.target === undefined ? { ...given, target: "latest" } : given;
}

function unknownKeys(prefix: string, value: Record<string, unknown>, known: string[]): string[] {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const meant = nearest(key, known);
      return (
        `${prefix}.${key}: is not a setting of ${prefix}` +
        (meant ? `; did you mean ${prefix}.${meant}?` : `; known settings are ${known.join(", ")}`)
      );
    });
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const CRON_FIELDS: readonly { name: string; min: number; max: number; names?: string[] }[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 7, names: DAYS },
];
const CRON_SHORTHANDS = [
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
];

function cronValue(text: string, field: (typeof CRON_FIELDS)[number]): number | undefined {
  if (/^[0-9]{1,2}$/.test(text)) {
    const n = Number(text);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  return index < 0 ? undefined : index + (field.names === MONTHS ? 1 : 0);
}

function cronFieldValid(text: string, field: (typeof CRON_FIELDS)[number]): boolean {
  return text.split(",").every((item) => {
    const [range, step, ...rest] = item.split("/");
    if (rest.length > 0) return false;
    if (step !== undefined && !/^[1-9][0-9]?$/.test(step)) return false;
    if (range === "*") return true;
    const bounds = range.split("-");
    if (bounds.length > 2) return false;
    const values = bounds.map((b) => cronValue(b, field));
    if (values.some((v) => v === undefined)) return false;
    return values.length === 1 || (values[0] as number) <= (values[1] as number);
  });
}

/** The problem with a cron schedule as Debian's cron reads it, or undefined when it is valid. */
export function cronScheduleProblem(schedule: unknown): string | undefined {
  const allowed =
    'a cron schedule: five fields "minute hour day-of-month month day-of-week" such as ' +
    `"0 3 * * *", or one of ${CRON_SHORTHANDS.join(", ")}`;
  if (typeof schedule !== "string")
    return `backup.schedule: ${show(schedule)} is not allowed; expected ${allowed}`;
  const text = schedule.trim();
  if (CRON_SHORTHANDS.includes(text)) return undefined;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    return `backup.schedule: ${show(schedule)} is not allowed; expected ${allowed}`;
  }
  const bad = fields.findIndex((f, i) => !cronFieldValid(f, CRON_FIELDS[i]));
  if (bad >= 0) {
    const field = CRON_FIELDS[bad];
    return (
      `backup.schedule: ${show(schedule)} is not allowed; its ${field.name} field ${show(fields[bad])} ` +
      `must be *, a number from ${field.min} to ${field.max}` +
      (field.names ? ` or a name (${field.names.slice(0, 3).join(", ")}, ...)` : "") +
      ", a range a-b, a list a,b or a step */n"
    );
  }
  return undefined;
}

/** Problems with a normalised `backup` value; empty when it is valid. */
export function backupProblems(backup: unknown, walArchive: unknown): string[] {
  if (!isPlainObject(backup)) {
    return [
      `backup: ${show(backup)} is not allowed; expected an object such as ` +
        `{"enabled": true, "schedule": "0 3 * * *", "retentionFull": 2, "keepOnDestroy": true}`,
    ];
  }
  const problems = unknownKeys("backup", backup, BACKUP_KEYS);
  const { enabled, schedule, retentionFull, keepOnDestroy } = backup;
  if (typeof enabled !== "boolean") {
    problems.push(`backup.enabled: ${show(enabled)} is not allowed; expected true or false`);
  } else if (enabled && walArchive === false) {
    problems.push(
      "backup.enabled: true is not allowed with walArchive: false; pgBackRest backups restore " +
        "only with the WAL archive (set walArchive to true, or backup.enabled to false)",
    );
  }
  const scheduleProblem = cronScheduleProblem(schedule);
  if (scheduleProblem !== undefined) problems.push(scheduleProblem);
  if (
    typeof retentionFull !== "number" ||
    !Number.isInteger(retentionFull) ||
    retentionFull < 1 ||
    retentionFull > MAX_RETENTION_FULL
  ) {
    problems.push(
      `backup.retentionFull: ${show(retentionFull)} is not allowed; expected an integer from 1 to ${MAX_RETENTION_FULL}`,
    );
  }
  if (typeof keepOnDestroy !== "boolean") {
    problems.push(
      `backup.keepOnDestroy: ${show(keepOnDestroy)} is not allowed; expected true or false`,
    );
  }
  return problems;
}

const TIMESTAMP_WITH_ZONE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(:([0-9]{2})(\.[0-9]{1,6})?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$/;

/** True for `latest` or a timestamp with an explicit time zone offset that is a real instant. */
export function isRestoreTarget(target: unknown): boolean {
  if (target === "latest") return true;
  if (typeof target !== "string") return false;
  const m = TIMESTAMP_WITH_ZONE.exec(target.trim());
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[7] ?? "0"].map(
    Number,
  );
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59
  );
}

/** A restore target as pgBackRest and PostgreSQL are given it, and the instant it names. */
export interface RestoreTargetTime {
  /** `YYYY-MM-DD HH:MM:SS[.ffffff]+00`: the same instant in UTC, in a form both parse. */
  readonly text: string;
  /** Milliseconds since the Unix epoch (fractions of a millisecond dropped). */
  readonly epochMs: number;
}

/**
 * The instant a timestamp target names, in UTC; undefined for `latest` or a value that
 * isRestoreTarget refuses.
 */
export function restoreTargetTime(target: unknown): RestoreTargetTime | undefined {
  if (target === "latest" || !isRestoreTarget(target)) return undefined;
  const m = TIMESTAMP_WITH_ZONE.exec((target as string).trim())!;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = Number(m[7] ?? "0");
  const fraction = m[8] ? m[8].slice(1) : "";
  const zone = m[9];
  let offsetMinutes = 0;
  if (zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0");
    if (zone.startsWith("-")) offsetMinutes = -offsetMinutes;
  }
  const wholeMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  const epochMs = wholeMs + Number((fraction + "000").slice(0, 3));
  const utc = new Date(wholeMs).toISOString().slice(0, 19).replace("T", " ");
  return { text: `${utc}${fraction ? `.${fraction}` : ""}+00`, epochMs };
}

/** Problems with a normalised `restore` value (undefined: no restore); empty when valid. */
export function restoreProblems(
  restore: unknown,
  clusterName: unknown,
  backup: unknown,
  failover?: unknown,
): string[] {
  if (restore === undefined) return [];
  if (!isPlainObject(restore)) {
    return [
      `restore: ${show(restore)} is not allowed; expected an object such as ` +
        `{"fromCluster": "postgres", "target": "latest"}`,
    ];
  }
  const problems = unknownKeys("restore", restore, RESTORE_KEYS);
  const { fromCluster, target } = restore;
  if (typeof fromCluster !== "string" || !CLUSTER_NAME.test(fromCluster)) {
    problems.push(
      `restore.fromCluster: ${show(fromCluster)} is not allowed; expected the clusterName of ` +
        "the cluster whose backups to restore (^[a-z][a-z0-9-]{0,30}$)",
    );
  } else if (fromCluster === clusterName) {
    problems.push(
      `restore.fromCluster: ${show(fromCluster)} is not allowed; it must be another cluster ` +
        "(a restored cluster archives into a repository of its own, never the source's)",
    );
  }
  if (!isRestoreTarget(target)) {
    problems.push(
      `restore.target: ${show(target)} is not allowed; expected "latest" or a timestamp with ` +
        'time zone such as "2026-11-27 20:15:00+00" or "2026-11-27T20:15:00Z"',
    );
  }
  if (failover === "automatic") {
    problems.push(
      "restore: is not available with failover: automatic yet; restore into a cluster with " +
        "failover: manual (the default), or remove restore",
    );
  } else if (isPlainObject(backup) && backup.enabled === false) {
    problems.push(
      "restore: is not allowed with backup.enabled: false; a restored cluster continues the " +
        "source's history in a pgBackRest repository of its own",
    );
  }
  return problems;
}
