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
} from "./names";
import { BASH, commandScript, instanceScript } from "./scripts";
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
}

/** One instance as the stack outputs describe it. */
export interface InstanceInfo {
  readonly name: string;
  readonly role: "primary" | "standby";
  readonly hostPort: number;
}

/** How long a container may take to become healthy (initdb, or a clone of a lost volume). */
const CONTAINER_WAIT_SECONDS = 600;

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
  public readonly superuserPassword: pulumi.Output<string>;
  public readonly replicationPassword: pulumi.Output<string>;

  constructor(name: string, args: PostgresReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super(REPLICA_SET_TYPE, name, {}, opts);
    const { superuserPassword, replicationPassword, ...given } = args;
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

    const network = new docker.Network(
      `${name}-network`,
      { name: cluster, driver: "bridge", labels },
      parent,
    );
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: settings.image, keepLocally: true },
      parent,
    );
    const archive = settings.walArchive
      ? new docker.Volume(
          `${name}-wal-archive`,
          { name: archiveVolumeName(cluster), labels },
          parent,
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
          parent,
        ),
      );
      configVolumes.set(
        n,
        new docker.Volume(
          `${name}-${n}-config`,
          { name: configVolumeName(cluster, n), labels: instanceLabels(n) },
          parent,
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
            create: commandScript("write-config"),
            interpreter: BASH,
            environment: {
              CLUSTER: cluster,
              CONTAINER: containerName(cluster, n),
              ROLE: n === settings.primary ? "primary" : "standby",
              IMAGE: image.imageId,
              CONFIG_VOLUME: configVolumes.get(n)!.name,
              ARCHIVE_VOLUME: archiveVolume,
              POSTGRESQL_CONF: files["postgresql.conf"],
              PG_HBA_CONF: files["pg_hba.conf"],
              PG_IDENT_CONF: files["pg_ident.conf"],
              INSTANCE_ENV: files["instance.env"],
              INSTANCE_SCRIPT: instanceScript(),
              SUPERUSER: settings.superuser,
              REPLICATION_USER: settings.replicationUser,
              SUPERUSER_PASSWORD: superuserSecret,
              REPLICATION_PASSWORD: replicationSecret,
            },
            logging: "none",
          },
          { parent: this, dependsOn },
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
          image: image.imageId,
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
            interval: "2s",
            timeout: "5s",
            retries: 5,
            startPeriod: `${CONTAINER_WAIT_SECONDS}s`,
          },
          wait: true,
          waitTimeout: CONTAINER_WAIT_SECONDS,
          restart: "unless-stopped",
          // A stopped container stays in state: the role-change scripts stop and start
          // instances themselves, and a refresh must not forget a container it cannot then
          // re-create under the same name.
          mustRun: false,
          stopTimeout: 60,
          labels: instanceLabels(n),
        },
        { parent: this, dependsOn, deleteBeforeReplace: true },
      );
      containers.set(n, container);
      return container;
    };

    const primaryContainer = createContainer(settings.primary, [configure.get(settings.primary)!]);
    const primaryName = containerName(cluster, settings.primary);

    const promote = new command.local.Command(
      `${name}-promote`,
      {
        create: commandScript("promote"),
        interpreter: BASH,
        environment: { CLUSTER: cluster, TARGET: primaryName, SUPERUSER: settings.superuser },
      },
      { parent: this, dependsOn: [primaryContainer] },
    );

    const roles = new command.local.Command(
      `${name}-roles`,
      {
        create: commandScript("roles"),
        interpreter: BASH,
        environment: {
          PRIMARY_CONTAINER: primaryName,
          SUPERUSER: settings.superuser,
          REPLICATION_USER: settings.replicationUser,
          CONNECTION_LIMIT: String(settings.replicationConnectionLimit),
          SUPERUSER_PASSWORD: superuserSecret,
          REPLICATION_PASSWORD: replicationSecret,
        },
        logging: "none",
      },
      { parent: this, dependsOn: [promote] },
    );

    for (const n of standbyNumbers) {
      const slot = settings.replicationSlots
        ? new command.local.Command(
            `${name}-${n}-slot`,
            {
              create: commandScript("slot", "create"),
              delete: commandScript("slot", "delete"),
              interpreter: BASH,
              environment: {
                PRIMARY_CONTAINER: primaryName,
                SUPERUSER: settings.superuser,
                SLOT: slotName(cluster, n),
              },
            },
            { parent: this, dependsOn: [promote] },
          )
        : undefined;

      const join = new command.local.Command(
        `${name}-${n}-join`,
        {
          create: commandScript("join-standby"),
          interpreter: BASH,
          environment: {
            CLUSTER: cluster,
            CONTAINER: containerName(cluster, n),
            IMAGE: image.imageId,
            NETWORK: network.name,
            DATA_VOLUME: dataVolumes.get(n)!.name,
            CONFIG_VOLUME: configVolumes.get(n)!.name,
            ARCHIVE_VOLUME: archiveVolume,
            PRIMARY_CONTAINER: primaryName,
            SUPERUSER: settings.superuser,
          },
        },
        {
          parent: this,
          dependsOn: [roles, promote, configure.get(n)!, ...(slot ? [slot] : [])],
        },
      );

      const standby = createContainer(n, [join, configure.get(n)!]);

      new command.local.Command(
        `${name}-${n}-streaming`,
        {
          create: commandScript("check-streaming"),
          interpreter: BASH,
          environment: {
            PRIMARY_CONTAINER: primaryName,
            STANDBY: containerName(cluster, n),
            SUPERUSER: settings.superuser,
            TIMEOUT_SECONDS: "120",
          },
        },
        { parent: this, dependsOn: [standby, join] },
      );
    }

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
