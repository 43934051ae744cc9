import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import { createBackup, renderPgbackrestConf } from "../backup";
import { createEndpointProxy } from "../endpoint-proxy";
import { renderInstanceConfig } from "../instance-config";
import {
  CLUSTER_LABEL,
  INSTANCE_LABEL,
  PROBE_USER,
  configVolumeName,
  containerName,
  dataVolumeName,
  hostPortOf,
  instanceNumbers,
  proxyContainerName,
  slotName,
  slotPrefix,
} from "../names";
import { createRestore } from "../restore";
import { RoleOutputs } from "../role-outputs";
import { createInstanceContainer } from "./instance-container";
import { SECRET_OUTPUTS, instanceScript, scriptArgs, scriptCommand } from "../scripts";
import { ReplicaSetSettings } from "../settings";
import { multiHostUri, singleHostUri } from "../uris";

/** What the shared part of PostgresReplicaSet hands to the manual mode. */
export interface ManualReplicaSetArgs {
  readonly settings: ReplicaSetSettings;
  /** The pinned ID of the configured image. */
  readonly imageId: pulumi.Output<string>;
  /** Created first: nothing that holds data exists before the image. */
  readonly image: pulumi.Resource;
  readonly network: docker.Network;
  /** The WAL archive: the pgBackRest repository when backups are on, else a plain volume. */
  readonly archive?: docker.Volume;
  /** The pgBackRest repository, when backups are on. */
  readonly repository?: docker.Volume;
  /** ID of the engines' image: HAProxy for the proxy; pgBackRest in every instance. */
  readonly engineImage: pulumi.Output<string>;
  readonly secrets: {
    readonly superuser: pulumi.Output<string>;
    readonly replication: pulumi.Output<string>;
    readonly rewind: pulumi.Output<string>;
    readonly probe: pulumi.Output<string>;
  };
}

/**
 * The tutorial's model: the primary changes only through `primary` and `pulumi up`. Every
 * instance runs the same container definition; which one is primary lives only in
 * configuration and Command resources (promote, join, slots), so a role change never replaces
 * a container.
 */
export function buildManualReplicaSet(
  parent: pulumi.Resource,
  name: string,
  args: ManualReplicaSetArgs,
): RoleOutputs {
  const { settings, imageId, image, network, archive, repository } = args;
  const superuserSecret = args.secrets.superuser;
  const replicationSecret = args.secrets.replication;
  const rewindSecret = args.secrets.rewind;
  const probeSecret = args.secrets.probe;
  const cluster = settings.clusterName;
  const labels = [{ label: CLUSTER_LABEL, value: cluster }];
  const instanceLabels = (n: number) => [...labels, { label: INSTANCE_LABEL, value: String(n) }];
  const numbers = instanceNumbers(settings.standbys);
  const standbyNumbers = numbers.filter((n) => n !== settings.primary);
  const archiveVolume = archive ? archive.name : "";
  // Names are fixed, so a replacement must delete first: the engine would otherwise
  // "create" the same name (Docker returns the existing object) and then delete it.
  const fixedName = { parent, dependsOn: [image], deleteBeforeReplace: true };
  // Only a new name (a new cluster) may replace a volume that holds data.
  const keepsData = { ...fixedName, ignoreChanges: ["labels", "driver", "driverOpts"] };

  // pgBackRest runs inside every instance (archive-push, archive-get): with backups on, the
  // instances run the engines' image, which is the configured one when it carries them.
  const instanceImage = repository ? args.engineImage : imageId;

  const dataVolumes = new Map<number, docker.Volume>();
  const configVolumes = new Map<number, docker.Volume>();
  for (const n of numbers) {
    dataVolumes.set(
      n,
      new docker.Volume(
        `${name}-${n}-data`,
        { name: dataVolumeName(cluster, n), labels: instanceLabels(n) },
        keepsData,
      ),
    );
    configVolumes.set(
      n,
      new docker.Volume(
        `${name}-${n}-config`,
        { name: configVolumeName(cluster, n), labels: instanceLabels(n) },
        fixedName,
      ),
    );
  }

  // Standbys are configured first, so that a restart a configuration change needs reaches
  // the primary last.
  const configure = new Map<number, command.local.Command>();
  const configureInstance = (n: number, dependsOn: pulumi.Resource[]) => {
    const files = renderInstanceConfig(settings, n);
    configure.set(
      n,
      new command.local.Command(
        `${name}-${n}-configure`,
        {
          ...scriptArgs("write-config", {
            CLUSTER: cluster,
            CONTAINER: containerName(cluster, n),
            PRIMARY_CONTAINER: containerName(cluster, settings.primary),
            ROLE: n === settings.primary ? "primary" : "standby",
            // Any image with the postgres user will do to write files: the configured one is
            // known before the engines' image is, and the engines' image is built from it.
            IMAGE: imageId,
            CONFIG_VOLUME: configVolumes.get(n)!.name,
            ARCHIVE_VOLUME: archiveVolume,
            POSTGRESQL_CONF: files["postgresql.conf"],
            PG_HBA_CONF: files["pg_hba.conf"],
            PG_IDENT_CONF: files["pg_ident.conf"],
            INSTANCE_ENV: files["instance.env"],
            INSTANCE_SCRIPT: instanceScript(),
            SUPERUSER: settings.superuser,
            REPLICATION_USER: settings.replicationUser,
            REWIND_USER: settings.rewindUser,
            SUPERUSER_PASSWORD: superuserSecret,
            REPLICATION_PASSWORD: replicationSecret,
            REWIND_PASSWORD: rewindSecret,
            PGBACKREST_CONF: repository ? renderPgbackrestConf(settings) : "",
          }),
          logging: "none",
        },
        { parent, dependsOn, additionalSecretOutputs: SECRET_OUTPUTS },
      ),
    );
  };
  for (const n of standbyNumbers) configureInstance(n, []);
  configureInstance(settings.primary, [...configure.values()]);

  const containers = new Map<number, docker.Container>();
  const createContainer = (
    n: number,
    dependsOn: pulumi.Resource[],
    image: pulumi.Input<string> = instanceImage,
    readyAfter: pulumi.Resource[] = [],
  ) => {
    const instance = createInstanceContainer(parent, name, {
      settings,
      n,
      image,
      network: network.name,
      dataVolume: dataVolumes.get(n)!.name,
      configVolume: configVolumes.get(n)!.name,
      archiveVolume: archive?.name,
      labels: instanceLabels(n),
      dependsOn,
      readyAfter,
    });
    containers.set(n, instance.container);
    return instance;
  };

  // A standby's container clones itself from the primary at its first start (instance.sh), so
  // it needs no resource of the primary's: standbys come before the primary in the graph, and
  // a new image reaches them first. Its readiness waits for the primary's configuration: a
  // primary failing to start on a bad setting is restarted there with the fixed one, and a
  // standby waiting to clone from it meanwhile would give up on it.
  const standbyInstances = new Map(
    standbyNumbers.map((n) => [
      n,
      createContainer(n, [configure.get(n)!], instanceImage, [configure.get(settings.primary)!]),
    ]),
  );
  // A restored cluster's primary starts from the source's backup, made before its container.
  const restore = settings.restore
    ? [
        createRestore(parent, name, {
          cluster,
          restore: settings.restore,
          image: instanceImage,
          dataVolume: dataVolumes.get(settings.primary)!.name,
          configVolume: configVolumes.get(settings.primary)!.name,
          archiveVolume,
          dependsOn: [configure.get(settings.primary)!],
        }),
      ]
    : [];
  const primaryName = containerName(cluster, settings.primary);
  const standbyContainers = standbyNumbers.map((n) => standbyInstances.get(n)!.container);
  // The primary takes a new image only once every standby runs it (primary-image.sh).
  const primaryImage = new command.local.Command(
    `${name}-primary-image`,
    {
      ...scriptArgs("primary-image", {
        IMAGE: instanceImage,
        CLUSTER: cluster,
        SUPERUSER: settings.superuser,
        TIMEOUT_SECONDS: "600",
      }),
      update: scriptCommand("primary-image", "update"),
      // The script compares the image with the one it printed before.
      addPreviousOutputInEnv: true,
    },
    { parent, dependsOn: standbyContainers },
  ).stdout;
  const primaryInstance = createContainer(
    settings.primary,
    [configure.get(settings.primary)!, ...restore],
    primaryImage,
  );

  const promote = new command.local.Command(
    `${name}-promote`,
    scriptArgs("promote", {
      CLUSTER: cluster,
      TARGET: primaryName,
      SUPERUSER: settings.superuser,
      ACCEPT_DATA_LOSS: String(settings.acceptDataLoss),
    }),
    { parent, dependsOn: [primaryInstance.ready] },
  );

  const roles = new command.local.Command(
    `${name}-roles`,
    {
      ...scriptArgs("roles", {
        PRIMARY_CONTAINER: primaryName,
        SUPERUSER: settings.superuser,
        DATABASE: settings.database,
        REPLICATION_USER: settings.replicationUser,
        REWIND_USER: settings.rewindUser,
        CONNECTION_LIMIT: String(settings.replicationConnectionLimit),
        SUPERUSER_PASSWORD: superuserSecret,
        REPLICATION_PASSWORD: replicationSecret,
        REWIND_PASSWORD: rewindSecret,
        PROBE_USER,
        PROBE_PASSWORD: probeSecret,
      }),
      logging: "none",
    },
    { parent, dependsOn: [promote], additionalSecretOutputs: SECRET_OUTPUTS },
  );

  const clusterChecks: pulumi.Resource[] = [roles];

  for (const n of standbyNumbers) {
    const standby = standbyInstances.get(n)!;
    const slot = settings.replicationSlots
      ? new command.local.Command(
          `${name}-${n}-slot`,
          {
            ...scriptArgs("slot", {
              PRIMARY_CONTAINER: primaryName,
              SUPERUSER: settings.superuser,
              SLOT: slotName(cluster, n),
            }),
            create: scriptCommand("slot", "create"),
            delete: scriptCommand("slot", "delete"),
          },
          { parent, dependsOn: [promote] },
        )
      : undefined;

    const join = new command.local.Command(
      `${name}-${n}-join`,
      scriptArgs("join-standby", {
        CLUSTER: cluster,
        CONTAINER: containerName(cluster, n),
        IMAGE: instanceImage,
        NETWORK: network.name,
        DATA_VOLUME: dataVolumes.get(n)!.name,
        CONFIG_VOLUME: configVolumes.get(n)!.name,
        ARCHIVE_VOLUME: archiveVolume,
        PRIMARY_CONTAINER: primaryName,
        SUPERUSER: settings.superuser,
      }),
      {
        parent,
        dependsOn: [roles, promote, configure.get(n)!, standby.ready, ...(slot ? [slot] : [])],
      },
    );

    const streaming = new command.local.Command(
      `${name}-${n}-streaming`,
      scriptArgs("check-streaming", {
        PRIMARY_CONTAINER: primaryName,
        STANDBY: containerName(cluster, n),
        SUPERUSER: settings.superuser,
        TIMEOUT_SECONDS: "120",
      }),
      { parent, dependsOn: [standby.ready, join] },
    );
    clusterChecks.push(streaming, ...(slot ? [slot] : []));
  }

  // The last word of every `up` that changed the topology, a role, or re-created a
  // container: the database and roles exist, every standby is in recovery, and each
  // instance holds exactly the slots its role needs (a demoted primary keeps none).
  new command.local.Command(
    `${name}-check`,
    scriptArgs("check-cluster", {
      CLUSTER: cluster,
      PRIMARY_CONTAINER: primaryName,
      STANDBYS: standbyNumbers.map((n) => containerName(cluster, n)).join(" "),
      SLOTS: settings.replicationSlots
        ? standbyNumbers.map((n) => slotName(cluster, n)).join(" ")
        : "",
      SLOT_PREFIX: slotPrefix(cluster),
      DATABASE: settings.database,
      SUPERUSER: settings.superuser,
      REPLICATION_USER: settings.replicationUser,
      REWIND_USER: settings.rewindUser,
      CONTAINER_IDS: pulumi
        .all(numbers.map((n) => containers.get(n)!.id))
        .apply((ids) => ids.join(" ")),
    }),
    { parent, dependsOn: clusterChecks },
  );

  const proxy = createEndpointProxy(parent, name, {
    cluster,
    bindAddress: settings.bindAddress,
    endpointPort: settings.endpointPort,
    image: args.engineImage,
    network: network.name,
    probePassword: probeSecret,
    dependsOn: [image],
    // Until the primary's container exists, the standbys' and the primary's containers are
    // what an `up` waits for; Docker served them about twice as fast without the proxy's and
    // the backup container's steps beside them.
    configureAfter: [primaryInstance.container],
  });
  // Like the check: after every change of roles, instances or the proxy itself.
  new command.local.Command(
    `${name}-endpoints`,
    scriptArgs("check-endpoints", {
      CONTAINER: proxyContainerName(cluster),
      PRIMARY_CONTAINER: primaryName,
      STANDBY_COUNT: String(standbyNumbers.length),
      SUPERUSER: settings.superuser,
      CONTAINER_IDS: pulumi
        .all([proxy.container.id, ...numbers.map((n) => containers.get(n)!.id)])
        .apply((ids) => ids.join(" ")),
    }),
    // Beside the check, not after it: routing depends only on the roles being in place.
    { parent, dependsOn: [...clusterChecks, proxy.container] },
  );

  if (repository) {
    createBackup(parent, name, {
      settings,
      engineImage: instanceImage,
      network: network.name,
      repository,
      dataVolumes: new Map(numbers.map((n) => [n, dataVolumes.get(n)!.name])),
      primaryContainer: primaryName,
      superuserPassword: superuserSecret,
      // The stanza as soon as the primary is one (its WAL archiving fails until then), beside
      // the standbys' clones; the container once the cluster is complete (every standby
      // streams), beside the final checks.
      stanzaAfter: [promote],
      configureAfter: [primaryInstance.container],
      containerAfter: clusterChecks,
      image,
    });
  }

  const endpoint = (n: number) => `${settings.bindAddress}:${hostPortOf(settings.hostPort, n)}`;
  const hosts = numbers.map((n) => ({
    host: settings.bindAddress,
    port: hostPortOf(settings.hostPort, n),
  }));
  const credentials = { user: settings.superuser, database: settings.database };

  return {
    primary: pulumi.output(primaryName),
    primaryEndpoint: pulumi.output(endpoint(settings.primary)),
    standbyEndpoints: pulumi.output(standbyNumbers.map(endpoint)),
    instances: pulumi.output(
      numbers.map((n) => ({
        name: containerName(cluster, n),
        role: n === settings.primary ? ("primary" as const) : ("standby" as const),
        hostPort: hostPortOf(settings.hostPort, n),
      })),
    ),
    connectionString: pulumi.secret(
      superuserSecret.apply((password) =>
        singleHostUri({ ...credentials, password, ...hosts[settings.primary - 1] }),
      ),
    ),
    readWriteUri: pulumi.secret(
      superuserSecret.apply((password) =>
        multiHostUri({ ...credentials, password }, hosts, "read-write"),
      ),
    ),
    readOnlyUri: pulumi.secret(
      superuserSecret.apply((password) =>
        multiHostUri({ ...credentials, password }, hosts, "prefer-standby"),
      ),
    ),
  };
}
