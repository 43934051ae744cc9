import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import {
  ARCHIVE_DIR,
  CLUSTER_LABEL,
  CONFIG_DIR,
  DATA_DIR,
  PATRONI_DATA_DIR,
  POSTGRES_PORT,
} from "./names";
import { readTemplate, renderTemplate } from "./render";
import { SECRET_OUTPUTS, backupScript, scriptArgs, scriptCommand } from "./scripts";
import { goDuration } from "./go-duration";
import { ReplicaSetSettings } from "./settings";

/** The pgBackRest repository: it holds the WAL archive too, so it is mounted where that was. */
export const REPOSITORY_PATH = ARCHIVE_DIR;
/** Where every instance and the backup container find pgbackrest.conf. */
export const PGBACKREST_CONF = `${CONFIG_DIR}/pgbackrest.conf`;

/** The repository volume; the contract also names the backup container so. */
export function backupVolumeName(cluster: string): string {
  return `${cluster}-backup`;
}

export function backupContainerName(cluster: string): string {
  return `${cluster}-backup`;
}

/** The backup container's pgbackrest.conf, script and passfile, mounted at /config. */
export function backupConfigVolumeName(cluster: string): string {
  return `${cluster}-backup-config`;
}

/** Where the throwaway restore container mounts the source cluster's repository, read-only. */
export const RESTORE_SOURCE_PATH = "/mnt/restore-source";

/**
 * pgbackrest.conf for every instance and the backup container; the stanza is the cluster. A
 * restored cluster's file also names the source's stanza, whose repository is another path.
 */
export function renderPgbackrestConf(settings: ReplicaSetSettings): string {
  const source = settings.restore
    ? renderTemplate(readTemplate("pgbackrest-restore.conf"), {
        sourceStanza: settings.restore.fromCluster,
        sourceVolume: backupVolumeName(settings.restore.fromCluster),
        sourcePath: RESTORE_SOURCE_PATH,
        dataDirectory: DATA_DIR,
      })
    : "";
  return (
    renderTemplate(readTemplate("pgbackrest.conf"), {
      stanza: settings.clusterName,
      repositoryVolume: backupVolumeName(settings.clusterName),
      repositoryPath: REPOSITORY_PATH,
      retentionFull: String(settings.backup.retentionFull),
      // pgBackRest checks it against the server's data_directory.
      dataDirectory: settings.failover === "automatic" ? PATRONI_DATA_DIR : DATA_DIR,
      port: String(POSTGRES_PORT),
      superuser: settings.superuser,
    }) + source
  );
}

/** archive_command and restore_command through pgBackRest's repository. */
export function pgbackrestArchiveCommands(cluster: string): {
  archiveCommand: string;
  restoreCommand: string;
} {
  const pgbackrest = `pgbackrest --config=${PGBACKREST_CONF} --stanza=${cluster}`;
  return {
    archiveCommand: `${pgbackrest} archive-push %p`,
    restoreCommand: `${pgbackrest} archive-get %f "%p"`,
  };
}

/**
 * The repository volume. A destroy keeps it unless backup.keepOnDestroy is false: it is the
 * one thing a person destroying a cluster may still need.
 */
export function createBackupRepository(
  parent: pulumi.Resource,
  name: string,
  settings: ReplicaSetSettings,
  opts: pulumi.CustomResourceOptions,
): docker.Volume {
  const cluster = settings.clusterName;
  const volume = new docker.Volume(
    `${name}-backup-repository`,
    { name: backupVolumeName(cluster), labels: [{ label: CLUSTER_LABEL, value: cluster }] },
    { ...opts, parent, retainOnDelete: settings.backup.keepOnDestroy },
  );
  new command.local.Command(
    `${name}-backup-kept`,
    {
      ...scriptArgs("backup-kept", {
        REPOSITORY_VOLUME: volume.name,
        KEEP: String(settings.backup.keepOnDestroy),
      }),
      delete: scriptCommand("backup-kept", "delete"),
    },
    { parent, dependsOn: [volume] },
  );
  return volume;
}

/** What the backup container needs from the replica set around it. */
export interface BackupArgs {
  readonly settings: ReplicaSetSettings;
  /** ID of the engines' image (pgBackRest, cron, psql): see engine-image.ts. */
  readonly engineImage: pulumi.Input<string>;
  readonly network: pulumi.Input<string>;
  readonly repository: docker.Volume;
  /** Data volume name of every instance, by instance number. */
  readonly dataVolumes: ReadonlyMap<number, pulumi.Input<string>>;
  readonly primaryContainer: string;
  readonly superuserPassword: pulumi.Input<string>;
  /** The stanza is created after these: it needs a primary that archives. */
  readonly stanzaAfter: pulumi.Resource[];
  /** Configured after these: see EndpointProxyArgs.configureAfter. @default [] */
  readonly configureAfter?: pulumi.Resource[];
  /** The backup container is created after these: its first backup reads a complete cluster. */
  readonly containerAfter: pulumi.Resource[];
  /** The image resource: no volume exists before it. */
  readonly image: pulumi.Resource;
}

/**
 * The backup container: stanza check at every change of primary (part of `up`), then, outside
 * `up`, a first full backup, scheduled full backups (Debian's cron) with pgBackRest's retention,
 * and `backup-now`. Backups find the primary themselves, so they follow a failover.
 */
export function createBackup(
  parent: pulumi.Resource,
  name: string,
  args: BackupArgs,
): { container: docker.Container; stanza: command.local.Command } {
  const cluster = args.settings.clusterName;
  const labels = [{ label: CLUSTER_LABEL, value: cluster }];
  const image = args.engineImage;
  const configVolume = new docker.Volume(
    `${name}-backup-config`,
    { name: backupConfigVolumeName(cluster), labels },
    { parent, dependsOn: [args.image], deleteBeforeReplace: true },
  );
  const configure = new command.local.Command(
    `${name}-backup-configure`,
    {
      ...scriptArgs("backup-write-config", {
        CLUSTER: cluster,
        IMAGE: image,
        CONFIG_VOLUME: configVolume.name,
        REPOSITORY_VOLUME: args.repository.name,
        PGBACKREST_CONF: renderPgbackrestConf(args.settings),
        BACKUP_SCRIPT: backupScript(),
        SUPERUSER: args.settings.superuser,
        SUPERUSER_PASSWORD: args.superuserPassword,
      }),
      logging: "none",
    },
    { parent, dependsOn: args.configureAfter ?? [], additionalSecretOutputs: SECRET_OUTPUTS },
  );
  const stanza = new command.local.Command(
    `${name}-backup-stanza`,
    scriptArgs("backup-stanza", {
      CLUSTER: cluster,
      PRIMARY_CONTAINER: args.primaryContainer,
      REPOSITORY_VOLUME: args.repository.name,
      SUPERUSER: args.settings.superuser,
    }),
    { parent, dependsOn: [...args.stanzaAfter, configure] },
  );
  const numbers = [...args.dataVolumes.keys()].sort((a, b) => a - b);
  const container = new docker.Container(
    `${name}-backup`,
    {
      name: backupContainerName(cluster),
      hostname: backupContainerName(cluster),
      image,
      user: "root",
      entrypoints: ["/bin/sh", `${CONFIG_DIR}/backup.sh`, "start"],
      envs: [
        `CLUSTER=${cluster}`,
        `INSTANCES=${numbers.join(" ")}`,
        `SCHEDULE=${args.settings.backup.schedule}`,
      ],
      mounts: [
        { type: "volume", source: args.repository.name, target: REPOSITORY_PATH },
        { type: "volume", source: configVolume.name, target: CONFIG_DIR, readOnly: true },
        ...numbers.map((n) => ({
          type: "volume",
          source: args.dataVolumes.get(n)!,
          target: `/instances/${n}`,
          readOnly: true,
        })),
      ],
      networksAdvanced: [{ name: args.network }],
      healthcheck: {
        // Healthy once the last backup (the first one, at the start) succeeded.
        tests: ["CMD", "/bin/sh", `${CONFIG_DIR}/backup.sh`, "health"],
        interval: goDuration(5),
        timeout: goDuration(5),
        retries: 1,
        startPeriod: goDuration(600),
      },
      wait: false,
      restart: "unless-stopped",
      mustRun: true,
      stopTimeout: 10,
      destroyGraceSeconds: 10,
      labels,
    },
    { parent, dependsOn: [stanza, configure, ...args.containerAfter], deleteBeforeReplace: true },
  );
  return { container, stanza };
}
