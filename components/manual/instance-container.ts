import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import { goDuration } from "../go-duration";
import { SUPERUSER_PASSWORD_FILE } from "../instance-config";
import {
  ARCHIVE_DIR,
  CONFIG_DIR,
  DATA_DIR,
  POSTGRES_PORT,
  containerName,
  hostPortOf,
} from "../names";
import { scriptArgs } from "../scripts";
import { ReplicaSetSettings } from "../settings";

/** How long an instance may take to accept connections (initdb, or a clone of a lost volume). */
const READY_TIMEOUT_SECONDS = 600;

/** Grace period for PostgreSQL's shutdown when Docker stops or deletes a container. */
const STOP_GRACE_SECONDS = 60;

/** One instance's container and what it mounts. */
export interface InstanceContainerArgs {
  readonly settings: ReplicaSetSettings;
  /** Instance number. */
  readonly n: number;
  readonly image: pulumi.Input<string>;
  readonly network: pulumi.Input<string>;
  readonly dataVolume: pulumi.Input<string>;
  readonly configVolume: pulumi.Input<string>;
  /** The WAL archive volume, when there is one. */
  readonly archiveVolume?: pulumi.Input<string>;
  readonly labels: { label: string; value: string }[];
  readonly dependsOn: pulumi.Resource[];
  /** What the readiness check waits for besides the container. @default [] */
  readonly readyAfter?: pulumi.Resource[];
}

/**
 * An instance's container, the same definition whatever its role, and the Command that waits
 * until it accepts connections (or fails at once saying why it cannot).
 */
export function createInstanceContainer(
  parent: pulumi.Resource,
  name: string,
  args: InstanceContainerArgs,
): { container: docker.Container; ready: command.local.Command } {
  const { settings, n } = args;
  const cluster = settings.clusterName;
  const mounts = [
    { type: "volume", source: args.dataVolume, target: DATA_DIR },
    { type: "volume", source: args.configVolume, target: CONFIG_DIR },
    ...(args.archiveVolume
      ? [{ type: "volume", source: args.archiveVolume, target: ARCHIVE_DIR }]
      : []),
  ];
  const container = new docker.Container(
    `${name}-${n}`,
    {
      name: containerName(cluster, n),
      hostname: containerName(cluster, n),
      image: args.image,
      entrypoints: ["/bin/sh", `${CONFIG_DIR}/instance.sh`, "start"],
      command: ["-c", `config_file=${CONFIG_DIR}/postgresql.conf`],
      envs: [
        `POSTGRES_USER=${settings.superuser}`,
        `POSTGRES_PASSWORD_FILE=${SUPERUSER_PASSWORD_FILE}`,
        `POSTGRES_DB=${settings.database}`,
        `PGDATA=${DATA_DIR}`,
      ],
      mounts,
      networksAdvanced: [{ name: args.network, aliases: [containerName(cluster, n)] }],
      ports: [
        {
          internal: POSTGRES_PORT,
          external: hostPortOf(settings.hostPort, n),
          ip: settings.bindAddress,
          protocol: "tcp",
        },
      ],
      healthcheck: {
        // Over TCP: the image's first-start initialisation listens on the socket only.
        tests: ["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", String(POSTGRES_PORT)],
        interval: goDuration(2),
        timeout: goDuration(5),
        retries: 5,
        startPeriod: goDuration(READY_TIMEOUT_SECONDS),
      },
      // The provider's wait ignores a container that exits or refuses to start and hangs
      // until its timeout; the ready command after each container fails at once instead.
      wait: false,
      restart: "unless-stopped",
      // A stopped container stays in state: the role-change scripts stop and start
      // instances themselves, and a refresh must not forget a container it cannot then
      // re-create under the same name.
      mustRun: false,
      stopTimeout: STOP_GRACE_SECONDS,
      // The provider deletes with a zero stop timeout unless this is set: scale-down,
      // destroy and replacement would kill PostgreSQL instead of shutting it down.
      destroyGraceSeconds: STOP_GRACE_SECONDS,
      labels: args.labels,
    },
    { parent, dependsOn: args.dependsOn, deleteBeforeReplace: true },
  );
  // Runs whenever the container is created again (its ID changes), e.g. after
  // `up --refresh` re-creates a removed one.
  const ready = new command.local.Command(
    `${name}-${n}-ready`,
    scriptArgs("wait-ready", {
      CONTAINER: containerName(cluster, n),
      CONTAINER_ID: container.id,
      SUPERUSER: settings.superuser,
      TIMEOUT_SECONDS: String(READY_TIMEOUT_SECONDS),
    }),
    { parent, dependsOn: [container, ...(args.readyAfter ?? [])] },
  );
  return { container, ready };
}
