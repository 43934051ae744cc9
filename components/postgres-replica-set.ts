import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { SUPERUSER_PASSWORD_FILE, renderInstanceConfig } from "./instance-config";
import {
  ARCHIVE_DIR,
  CLUSTER_LABEL,
  CONFIG_DIR,
  DATA_DIR,
  INSTANCE_LABEL,
  POSTGRES_PORT,
  archiveVolumeName,
  configVolumeName,
  containerName,
  dataVolumeName,
  hostPortOf,
  instanceNumbers,
  slotName,
  slotPrefix,
  PROBE_USER,
  proxyContainerName,
} from "./names";
import { createEndpointProxy } from "./endpoint-proxy";
import { goDuration } from "./go-duration";
import { SECRET_OUTPUTS, instanceScript, scriptArgs, scriptCommand } from "./scripts";
import { ReplicaSetSettings, resolveSettings } from "./settings";
import { multiHostUri, singleHostUri } from "./uris";

export const REPLICA_SET_TYPE = "postgres-replication:index:PostgresReplicaSet";

export interface PostgresReplicaSetArgs extends Partial<ReplicaSetSettings> {
  /**
   * Password of the superuser.
   * @default generated with @pulumi/random
   */
  readonly superuserPassword?: pulumi.Input<string>;
  /**
   * Password of the replication role.
   * @default generated with @pulumi/random
   */
  readonly replicationPassword?: pulumi.Input<string>;
  /**
   * Password of the role pg_rewind connects as.
   * @default generated with @pulumi/random
   */
  readonly rewindPassword?: pulumi.Input<string>;
}

/** One instance as the stack outputs describe it. */
export interface InstanceInfo {
  readonly name: string;
  readonly role: "primary" | "standby";
  readonly hostPort: number;
}

/** How long an instance may take to accept connections (initdb, or a clone of a lost volume). */
const READY_TIMEOUT_SECONDS = 600;

/** Grace period for PostgreSQL's shutdown when Docker stops or deletes a container. */
const STOP_GRACE_SECONDS = 60;

/**
 * A PostgreSQL primary with streaming standbys on one Docker network: the replication
 * tutorial, declared. Every instance runs the same container definition; which one is primary
 * lives only in configuration and Command resources, so a role change never replaces a
 * container.
 */
export class PostgresReplicaSet extends pulumi.ComponentResource {
  /** Name of the primary container. */
  public readonly primary: pulumi.Output<string>;
  /** `host:port` of the primary on the host. */
  public readonly primaryEndpoint: pulumi.Output<string>;
  /** `host:port` of each standby on the host, in instance order. */
  public readonly standbyEndpoints: pulumi.Output<string[]>;
  public readonly instances: pulumi.Output<InstanceInfo[]>;
  /** Docker network name. */
  public readonly network: pulumi.Output<string>;
  /** `postgresql://` URI of the primary for the superuser. Secret. */
  public readonly connectionString: pulumi.Output<string>;
  /** Multi-host URI that finds the writable instance. Secret. */
  public readonly readWriteUri: pulumi.Output<string>;
  /** Multi-host URI that prefers standbys. Secret. */
  public readonly readOnlyUri: pulumi.Output<string>;
  /** `host:port` that always reaches the current primary, for any client. */
  public readonly readWriteEndpoint: pulumi.Output<string>;
  /** `host:port` balanced over the standbys (the primary when none streams). */
  public readonly readOnlyEndpoint: pulumi.Output<string>;
  public readonly superuserPassword: pulumi.Output<string>;
  public readonly replicationPassword: pulumi.Output<string>;

  constructor(name: string, args: PostgresReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super(REPLICA_SET_TYPE, name, {}, opts);
    const { superuserPassword, replicationPassword, rewindPassword, ...given } = args;
    const settings = resolveSettings(given);
    const cluster = settings.clusterName;
    const labels = [{ label: CLUSTER_LABEL, value: cluster }];
    const instanceLabels = (n: number) => [...labels, { label: INSTANCE_LABEL, value: String(n) }];
    const numbers = instanceNumbers(settings.standbys);
    const standbyNumbers = numbers.filter((n) => n !== settings.primary);
    const parent = { parent: this };

    const superuserSecret = pulumi.secret(
      superuserPassword ?? this.generatedPassword(`${name}-superuser-password`),
    );
    const replicationSecret = pulumi.secret(
      replicationPassword ?? this.generatedPassword(`${name}-replication-password`),
    );
    const rewindSecret = pulumi.secret(
      rewindPassword ?? this.generatedPassword(`${name}-rewind-password`),
    );
    const probeSecret = pulumi.secret(this.generatedPassword(`${name}-probe-password`));

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: settings.image, keepLocally: true },
      parent,
    );
    // The image ID the containers run, read once when `image` is set or changed. A refresh
    // re-reads the RemoteImage, whose imageId follows the tag wherever it moved locally; fed
    // to the containers, that would replace every one of them, the primary included, as a
    // side effect of `up --refresh`. A Command's output is not re-read by a refresh.
    const imageId = new command.local.Command(
      `${name}-image-id`,
      scriptArgs("image-id", { IMAGE: settings.image }),
      { parent: this, dependsOn: [image] },
    ).stdout;
    // Nothing that holds data exists until the image does: a name that cannot be pulled
    // fails the run before any volume or network is created.
    const afterImage = { parent: this, dependsOn: [image] };
    // Names are fixed, so a replacement must delete first: the engine would otherwise
    // "create" the same name (Docker returns the existing object) and then delete it.
    const fixedName = { ...afterImage, deleteBeforeReplace: true };
    // Only a new name (a new cluster) may replace a volume that holds data.
    const keepsData = { ...fixedName, ignoreChanges: ["labels", "driver", "driverOpts"] };

    const network = new docker.Network(
      `${name}-network`,
      { name: cluster, driver: "bridge", labels },
      fixedName,
    );
    const archive = settings.walArchive
      ? new docker.Volume(
          `${name}-wal-archive`,
          { name: archiveVolumeName(cluster), labels },
          keepsData,
        )
      : undefined;
    const archiveVolume = archive ? archive.name : "";

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
            }),
            logging: "none",
          },
          { parent: this, dependsOn, additionalSecretOutputs: SECRET_OUTPUTS },
        ),
      );
    };
    for (const n of standbyNumbers) configureInstance(n, []);
    configureInstance(settings.primary, [...configure.values()]);

    const containers = new Map<number, docker.Container>();
    const createContainer = (n: number, dependsOn: pulumi.Resource[]) => {
      const mounts = [
        { type: "volume", source: dataVolumes.get(n)!.name, target: DATA_DIR },
        { type: "volume", source: configVolumes.get(n)!.name, target: CONFIG_DIR },
        ...(archive ? [{ type: "volume", source: archive.name, target: ARCHIVE_DIR }] : []),
      ];
      const container = new docker.Container(
        `${name}-${n}`,
        {
          name: containerName(cluster, n),
          hostname: containerName(cluster, n),
          image: imageId,
          entrypoints: ["/bin/sh", `${CONFIG_DIR}/instance.sh`, "start"],
          command: ["-c", `config_file=${CONFIG_DIR}/postgresql.conf`],
          envs: [
            `POSTGRES_USER=${settings.superuser}`,
            `POSTGRES_PASSWORD_FILE=${SUPERUSER_PASSWORD_FILE}`,
            `POSTGRES_DB=${settings.database}`,
            `PGDATA=${DATA_DIR}`,
          ],
          mounts,
          networksAdvanced: [{ name: network.name, aliases: [containerName(cluster, n)] }],
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
          labels: instanceLabels(n),
        },
        { parent: this, dependsOn, deleteBeforeReplace: true },
      );
      containers.set(n, container);
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
        { parent: this, dependsOn: [container] },
      );
      return { container, ready };
    };

    const primaryInstance = createContainer(settings.primary, [configure.get(settings.primary)!]);
    const primaryName = containerName(cluster, settings.primary);

    const promote = new command.local.Command(
      `${name}-promote`,
      scriptArgs("promote", {
        CLUSTER: cluster,
        TARGET: primaryName,
        SUPERUSER: settings.superuser,
        ACCEPT_DATA_LOSS: String(settings.acceptDataLoss),
      }),
      { parent: this, dependsOn: [primaryInstance.ready] },
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
      { parent: this, dependsOn: [promote], additionalSecretOutputs: SECRET_OUTPUTS },
    );

    const clusterChecks: pulumi.Resource[] = [roles];

    for (const n of standbyNumbers) {
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
            { parent: this, dependsOn: [promote] },
          )
        : undefined;

      const join = new command.local.Command(
        `${name}-${n}-join`,
        scriptArgs("join-standby", {
          CLUSTER: cluster,
          CONTAINER: containerName(cluster, n),
          IMAGE: imageId,
          NETWORK: network.name,
          DATA_VOLUME: dataVolumes.get(n)!.name,
          CONFIG_VOLUME: configVolumes.get(n)!.name,
          ARCHIVE_VOLUME: archiveVolume,
          PRIMARY_CONTAINER: primaryName,
          SUPERUSER: settings.superuser,
        }),
        {
          parent: this,
          dependsOn: [roles, promote, configure.get(n)!, ...(slot ? [slot] : [])],
        },
      );

      const standby = createContainer(n, [join, configure.get(n)!]);

      const streaming = new command.local.Command(
        `${name}-${n}-streaming`,
        scriptArgs("check-streaming", {
          PRIMARY_CONTAINER: primaryName,
          STANDBY: containerName(cluster, n),
          SUPERUSER: settings.superuser,
          TIMEOUT_SECONDS: "120",
        }),
        { parent: this, dependsOn: [standby.ready, join] },
      );
      clusterChecks.push(streaming, ...(slot ? [slot] : []));
    }

    // The last word of every `up` that changed the topology, a role, or re-created a
    // container: the database and roles exist, every standby is in recovery, and each
    // instance holds exactly the slots its role needs (a demoted primary keeps none).
    const check = new command.local.Command(
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
          .all([...containers.values()].map((c) => c.id))
          .apply((ids) => ids.join(" ")),
      }),
      { parent: this, dependsOn: clusterChecks },
    );

    const proxy = createEndpointProxy(this, name, {
      cluster,
      bindAddress: settings.bindAddress,
      endpointPort: settings.endpointPort,
      baseImage: imageId,
      network: network.name,
      probePassword: probeSecret,
      dependsOn: [image],
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
          .all([proxy.container.id, ...[...containers.values()].map((c) => c.id)])
          .apply((ids) => ids.join(" ")),
      }),
      { parent: this, dependsOn: [check, proxy.container] },
    );

    const endpoint = (n: number) => `${settings.bindAddress}:${hostPortOf(settings.hostPort, n)}`;
    const hosts = numbers.map((n) => ({
      host: settings.bindAddress,
      port: hostPortOf(settings.hostPort, n),
    }));
    const credentials = { user: settings.superuser, database: settings.database };

    this.primary = pulumi.output(primaryName);
    this.primaryEndpoint = pulumi.output(endpoint(settings.primary));
    this.standbyEndpoints = pulumi.output(standbyNumbers.map(endpoint));
    this.instances = pulumi.output(
      numbers.map((n) => ({
        name: containerName(cluster, n),
        role: n === settings.primary ? ("primary" as const) : ("standby" as const),
        hostPort: hostPortOf(settings.hostPort, n),
      })),
    );
    this.network = network.name;
    this.superuserPassword = superuserSecret;
    this.replicationPassword = replicationSecret;
    this.connectionString = pulumi.secret(
      superuserSecret.apply((password) =>
        singleHostUri({ ...credentials, password, ...hosts[settings.primary - 1] }),
      ),
    );
    this.readWriteUri = pulumi.secret(
      superuserSecret.apply((password) =>
        multiHostUri({ ...credentials, password }, hosts, "read-write"),
      ),
    );
    this.readWriteEndpoint = pulumi.output(`${settings.bindAddress}:${settings.endpointPort}`);
    this.readOnlyEndpoint = pulumi.output(`${settings.bindAddress}:${settings.endpointPort + 1}`);
    this.readOnlyUri = pulumi.secret(
      superuserSecret.apply((password) =>
        multiHostUri({ ...credentials, password }, hosts, "prefer-standby"),
      ),
    );

    this.registerOutputs({
      primary: this.primary,
      primaryEndpoint: this.primaryEndpoint,
      standbyEndpoints: this.standbyEndpoints,
      instances: this.instances,
      network: this.network,
      connectionString: this.connectionString,
      readWriteUri: this.readWriteUri,
      readOnlyUri: this.readOnlyUri,
      readWriteEndpoint: this.readWriteEndpoint,
      readOnlyEndpoint: this.readOnlyEndpoint,
      superuserPassword: this.superuserPassword,
      replicationPassword: this.replicationPassword,
    });
  }

  private generatedPassword(resourceName: string): pulumi.Output<string> {
    // Letters and digits only: the password goes into URIs and pgpass files unescaped by users.
    return new random.RandomPassword(
      resourceName,
      { length: 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
      { parent: this },
    ).result;
  }
}
