import {
  ARCHIVE_DIR,
  CONFIG_DIR,
  POSTGRES_PORT,
  PROBE_USER,
  containerName,
  slotName,
} from "./names";
import { pgbackrestArchiveCommands } from "./backup";
import { readTemplate, renderTemplate } from "./render";
import {
  ARCHIVE_TIMEOUT,
  MAX_REPLICATION_SLOTS,
  MAX_WAL_SENDERS,
  ParameterValue,
  ReplicaSetSettings,
} from "./settings";

/** The files written to an instance's /config volume, by file name. */
export type InstanceConfigFiles = Readonly<Record<ConfigFileName, string>>;
export type ConfigFileName = "postgresql.conf" | "pg_hba.conf" | "pg_ident.conf" | "instance.env";

/** Password files in /config, written with mode 0600 next to the configuration. */
export const REPLICATION_PASSFILE = `${CONFIG_DIR}/replication.pgpass`;
export const SUPERUSER_PASSWORD_FILE = `${CONFIG_DIR}/superuser.password`;

/** A postgresql.conf string literal: single quotes, with embedded quotes doubled. */
export function quoteConfigString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** One `name = value` line for a stack `parameters` entry. */
export function parameterLine(name: string, value: ParameterValue): string {
  if (typeof value === "boolean") return `${name} = ${value ? "on" : "off"}`;
  if (typeof value === "number") return `${name} = ${value}`;
  return `${name} = ${quoteConfigString(value)}`;
}

function synchronousStandbyNames(k: number): string {
  // `*` matches every standby, so the setting does not change when standbys are added.
  return k === 0 ? "" : `ANY ${k} (*)`;
}

/** Connection string a standby uses to stream from the primary; the password comes from a passfile. */
export function primaryConninfo(settings: ReplicaSetSettings, instance: number): string {
  return [
    `host=${containerName(settings.clusterName, settings.primary)}`,
    `port=${POSTGRES_PORT}`,
    `user=${settings.replicationUser}`,
    `passfile=${REPLICATION_PASSFILE}`,
    `application_name=${containerName(settings.clusterName, instance)}`,
  ].join(" ");
}

/** Renders postgresql.conf, pg_hba.conf and pg_ident.conf for one instance. */
export function renderInstanceConfig(
  settings: ReplicaSetSettings,
  instance: number,
): InstanceConfigFiles {
  const instanceName = containerName(settings.clusterName, instance);
  const isPrimary = instance === settings.primary;
  // With backups on, the archive is the pgBackRest repository (mounted at the same place).
  const { archiveCommand, restoreCommand } = settings.backup.enabled
    ? pgbackrestArchiveCommands(settings.clusterName)
    : {
        archiveCommand: `test ! -f ${ARCHIVE_DIR}/%f && cp %p ${ARCHIVE_DIR}/%f`,
        restoreCommand: `cp ${ARCHIVE_DIR}/%f %p`,
      };
  const extraParameters = Object.entries(settings.parameters)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => parameterLine(name, value))
    .join("\n");

  const postgresqlConf = renderTemplate(readTemplate("postgresql.conf"), {
    instanceName,
    maxWalSenders: String(MAX_WAL_SENDERS),
    maxReplicationSlots: String(MAX_REPLICATION_SLOTS),
    maxSlotWalKeepSize: settings.maxSlotWalKeepSize,
    // Without slots, keep as much WAL as a slot would have been allowed to hold.
    walKeepSize: settings.replicationSlots ? "0" : settings.maxSlotWalKeepSize,
    synchronousStandbyNames: synchronousStandbyNames(settings.synchronousStandbys),
    archiveMode: settings.walArchive ? "on" : "off",
    archiveCommand: settings.walArchive ? archiveCommand : "",
    archiveTimeout: settings.walArchive ? ARCHIVE_TIMEOUT : "0",
    restoreCommand: settings.walArchive ? restoreCommand : "",
    primaryConninfo: isPrimary ? "" : primaryConninfo(settings, instance),
    primarySlotName:
      !isPrimary && settings.replicationSlots ? slotName(settings.clusterName, instance) : "",
    extraParameters,
  });
  const pgHbaConf = renderTemplate(readTemplate("pg_hba.conf"), {
    instanceName,
    replicationUser: settings.replicationUser,
    rewindUser: settings.rewindUser,
    probeUser: PROBE_USER,
  });
  const pgIdentConf = renderTemplate(readTemplate("pg_ident.conf"), {
    instanceName,
    superuser: settings.superuser,
  });
  const instanceEnv = renderTemplate(readTemplate("instance.env"), {
    cluster: settings.clusterName,
    instanceName,
    role: isPrimary ? "primary" : "standby",
    primaryHost: containerName(settings.clusterName, settings.primary),
    slot: settings.replicationSlots ? slotName(settings.clusterName, instance) : "",
    superuser: settings.superuser,
    replicationUser: settings.replicationUser,
    rewindUser: settings.rewindUser,
  });
  return {
    "postgresql.conf": postgresqlConf,
    "instance.env": instanceEnv,
    "pg_hba.conf": pgHbaConf,
    "pg_ident.conf": pgIdentConf,
  };
}
