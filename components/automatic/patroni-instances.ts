import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import {
  ARCHIVE_DIR,
  CLUSTER_LABEL,
  CONFIG_DIR,
  DATA_DIR,
  INSTANCE_LABEL,
  POSTGRES_PORT,
  configVolumeName,
  containerName,
  dataVolumeName,
  hostPortOf,
} from "../names";
import { renderPgbackrestConf } from "../backup";
import { SECRET_OUTPUTS, scriptArgs, scriptCommand } from "../scripts";
import { ReplicaSetSettings } from "../settings";
import { PATRONI_API_USER, renderPatroniConfig } from "./patroni-config";

/** How long a member may take to run PostgreSQL (initdb, or a clone). */
export const MEMBER_READY_SECONDS = 600;
const STOP_GRACE_SECONDS = 60;
/**
 * glibc resolver options of every member. A leader cut off from the network must see etcd
 * fail and demote itself within ttl; Patroni looks the etcd members up again after a failed
 * request, and with glibc's default (5 s, two attempts) each failed lookup took 10 s, so the
 * leader stayed writable for about 30 s while another member took its key after ttl.
 * Docker's resolver answers from the same host in milliseconds when it can answer at all.
 */
export const RESOLVER_OPTIONS = "timeout:1 attempts:1";

/** The passwords a Patroni member needs; they reach only its 0600 secrets file. */
export interface PatroniSecrets {
  readonly superuser: pulumi.Input<string>;
  readonly replication: pulumi.Input<string>;
  readonly rewind: pulumi.Input<string>;
  readonly api: pulumi.Input<string>;
}

export interface PatroniMemberArgs {
  readonly settings: ReplicaSetSettings;
  readonly instance: number;
  readonly image: pulumi.Input<string>;
  readonly network: pulumi.Input<string>;
  /** Name of the shared WAL archive volume, when there is one. */
  readonly archiveVolume?: pulumi.Input<string>;
  readonly secrets: PatroniSecrets;
  /** Created before the member: the etcd cluster, and the preferred leader's member. */
  readonly dependsOn: pulumi.Resource[];
  /** Created first: nothing that holds data exists before the image. */
  readonly after: pulumi.Resource;
  /** Container names of every member (for the ready check's REST client). */
  readonly members: string;
}

/** A member's container and the Command that waits until its PostgreSQL runs. */
export interface PatroniMember {
  readonly instance: number;
  readonly dataVolume: docker.Volume;
  readonly container: docker.Container;
  readonly ready: command.local.Command;
}

/**
 * One instance run by Patroni: the manual mode's container name, volumes and published port,
 * with Patroni as PID 1 (as the postgres user) bootstrapping, cloning, rewinding and electing.
 * Returns the container and the command that waits until its PostgreSQL runs.
 */
export function createPatroniMember(
  parent: pulumi.Resource,
  name: string,
  args: PatroniMemberArgs,
): PatroniMember {
  const { settings, instance: n } = args;
  const cluster = settings.clusterName;
  const labels = [
    { label: CLUSTER_LABEL, value: cluster },
    { label: INSTANCE_LABEL, value: String(n) },
  ];
  const keepsData = {
    parent,
    dependsOn: [args.after],
    deleteBeforeReplace: true,
    ignoreChanges: ["labels", "driver", "driverOpts"],
  };
  const data = new docker.Volume(
    `${name}-${n}-data`,
    { name: dataVolumeName(cluster, n), labels },
    keepsData,
  );
  const config = new docker.Volume(
    `${name}-${n}-config`,
    { name: configVolumeName(cluster, n), labels },
    { parent, dependsOn: [args.after], deleteBeforeReplace: true },
  );
  const configure = new command.local.Command(
    `${name}-${n}-configure`,
    {
      ...scriptArgs("patroni-write-config", {
        CLUSTER: cluster,
        CONTAINER: containerName(cluster, n),
        IMAGE: args.image,
        CONFIG_VOLUME: config.name,
        DATA_VOLUME: data.name,
        ARCHIVE_VOLUME: args.archiveVolume ?? "",
        PATRONI_YML: renderPatroniConfig(settings, n),
        API_USER: PATRONI_API_USER,
        PGBACKREST_CONF: settings.backup.enabled ? renderPgbackrestConf(settings) : "",
        API_PASSWORD: args.secrets.api,
        SUPERUSER_PASSWORD: args.secrets.superuser,
        REPLICATION_PASSWORD: args.secrets.replication,
        REWIND_PASSWORD: args.secrets.rewind,
      }),
      logging: "none",
    },
    { parent, additionalSecretOutputs: SECRET_OUTPUTS },
  );
  const container = new docker.Container(
    `${name}-${n}`,
    {
      name: containerName(cluster, n),
      hostname: containerName(cluster, n),
      image: args.image,
      user: "postgres",
      entrypoints: ["patroni", `${CONFIG_DIR}/patroni`],
      envs: ["LANG=C.UTF-8", `RES_OPTIONS=${RESOLVER_OPTIONS}`],
      mounts: [
        { type: "volume", source: data.name, target: DATA_DIR },
        { type: "volume", source: config.name, target: CONFIG_DIR, readOnly: true },
        ...(args.archiveVolume
          ? [{ type: "volume", source: args.archiveVolume, target: ARCHIVE_DIR }]
          : []),
      ],
      networksAdvanced: [{ name: args.network, aliases: [containerName(cluster, n)] }],
      ports: [
        {
          internal: POSTGRES_PORT,
          external: hostPortOf(settings.hostPort, n),
          ip: settings.bindAddress,
          protocol: "tcp",
        },
      ],
      // Patroni shuts PostgreSQL down cleanly on SIGTERM; the base image stops with SIGINT.
      stopSignal: "SIGTERM",
      wait: false,
      restart: "unless-stopped",
      // A member stopped or killed outside Pulumi is Patroni's business (it rejoins when it
      // starts again); it stays in state so that `up` does not fight Patroni over it.
      mustRun: false,
      stopTimeout: STOP_GRACE_SECONDS,
      destroyGraceSeconds: STOP_GRACE_SECONDS,
      labels,
    },
    { parent, dependsOn: [configure, ...args.dependsOn], deleteBeforeReplace: true },
  );
  const ready = new command.local.Command(
    `${name}-${n}-ready`,
    {
      ...scriptArgs("patroni", {
        CONTAINER: containerName(cluster, n),
        CONTAINER_ID: container.id,
        MEMBERS: args.members,
        TIMEOUT_SECONDS: String(MEMBER_READY_SECONDS),
      }),
      create: scriptCommand("patroni", "ready"),
    },
    { parent, dependsOn: [container] },
  );
  return { instance: n, dataVolume: data, container, ready };
}
