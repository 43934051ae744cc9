import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { buildAutomaticReplicaSet } from "./automatic/replica-set";
import { createBackupRepository } from "./backup";
import { engineImage } from "./engine-image";
import { buildManualReplicaSet } from "./manual/replica-set";
import { CLUSTER_LABEL, archiveVolumeName } from "./names";
import { createRestoreCheck } from "./restore";
import { InstanceInfo } from "./role-outputs";
import { scriptArgs } from "./scripts";
import { ReplicaSetSettings, resolveSettings } from "./settings";

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

export type { InstanceInfo };

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
  /** `manual` or `automatic`: who changes the primary. */
  public readonly failover: pulumi.Output<string>;
  /** Name of the pgBackRest repository volume, or empty when backups are off. */
  public readonly backupRepository: pulumi.Output<string>;

  constructor(name: string, args: PostgresReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super(REPLICA_SET_TYPE, name, {}, opts);
    const { superuserPassword, replicationPassword, rewindPassword, ...given } = args;
    const settings = resolveSettings(given);
    const cluster = settings.clusterName;
    const labels = [{ label: CLUSTER_LABEL, value: cluster }];

    // Checked before anything else: the passwords and the image wait for it, and every other
    // resource for the image.
    const fixedSettings = new command.local.Command(
      `${name}-fixed-settings`,
      {
        ...scriptArgs("fixed-settings", {
          FAILOVER: settings.failover,
          ETCD_MEMBERS: settings.failover === "automatic" ? String(settings.etcdMembers) : "",
        }),
        // The script compares with what the previous run printed.
        addPreviousOutputInEnv: true,
      },
      { parent: this },
    );
    const superuserSecret = pulumi.secret(
      superuserPassword ?? this.generatedPassword(`${name}-superuser-password`, fixedSettings),
    );
    const replicationSecret = pulumi.secret(
      replicationPassword ?? this.generatedPassword(`${name}-replication-password`, fixedSettings),
    );
    const rewindSecret = pulumi.secret(
      rewindPassword ?? this.generatedPassword(`${name}-rewind-password`, fixedSettings),
    );
    const probeSecret = pulumi.secret(
      this.generatedPassword(`${name}-probe-password`, fixedSettings),
    );

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: settings.image, keepLocally: true },
      { parent: this, dependsOn: [fixedSettings] },
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
    // HAProxy, and in the automatic mode Patroni and etcd, always; pgBackRest when backups
    // are on (inside every instance of the manual mode then).
    const engines = engineImage(this, name, imageId, [image]);
    // A restore is checked against its source repository before anything that holds data
    // exists; validation keeps restore to the manual mode with backups on.
    const restoreCheck = settings.restore
      ? createRestoreCheck(this, name, {
          cluster,
          restore: settings.restore,
          engineImage: engines,
        })
      : undefined;
    const gate: pulumi.Resource = restoreCheck ?? image;
    // Nothing that holds data exists until the image does (and a restore's check passed): a
    // name that cannot be pulled fails the run before any volume or network is created.
    // Names are fixed, so a replacement must delete first: the engine would otherwise
    // "create" the same name (Docker returns the existing object) and then delete it.
    const fixedName = { parent: this, dependsOn: [gate], deleteBeforeReplace: true };
    // Only a new name (a new cluster) may replace a volume that holds data.
    const keepsData = { ...fixedName, ignoreChanges: ["labels", "driver", "driverOpts"] };

    const network = new docker.Network(
      `${name}-network`,
      { name: cluster, driver: "bridge", labels },
      fixedName,
    );
    // With backups on, the pgBackRest repository is the WAL archive.
    const repository = settings.backup.enabled
      ? createBackupRepository(this, name, settings, keepsData)
      : undefined;
    const plainArchive =
      !repository && settings.walArchive
        ? new docker.Volume(
            `${name}-wal-archive`,
            { name: archiveVolumeName(cluster), labels },
            keepsData,
          )
        : undefined;
    const archive = repository ?? plainArchive;

    // The two modes share the image, network, archive and passwords; the rest is theirs.
    const shared = { settings, imageId, engineImage: engines, image: gate, network };
    const roles =
      settings.failover === "automatic"
        ? buildAutomaticReplicaSet(this, name, {
            ...shared,
            archiveVolume: archive?.name,
            repository,
            secrets: {
              superuser: superuserSecret,
              replication: replicationSecret,
              rewind: rewindSecret,
              api: pulumi.secret(
                this.generatedPassword(`${name}-patroni-api-password`, fixedSettings),
              ),
            },
          })
        : buildManualReplicaSet(this, name, {
            ...shared,
            archive,
            repository,
            secrets: {
              superuser: superuserSecret,
              replication: replicationSecret,
              rewind: rewindSecret,
              probe: probeSecret,
            },
          });

    this.primary = roles.primary;
    this.primaryEndpoint = roles.primaryEndpoint;
    this.standbyEndpoints = roles.standbyEndpoints;
    this.instances = roles.instances;
    this.connectionString = roles.connectionString;
    this.readWriteUri = roles.readWriteUri;
    this.readOnlyUri = roles.readOnlyUri;
    this.network = network.name;
    this.superuserPassword = superuserSecret;
    this.replicationPassword = replicationSecret;
    this.readWriteEndpoint = pulumi.output(`${settings.bindAddress}:${settings.endpointPort}`);
    this.readOnlyEndpoint = pulumi.output(`${settings.bindAddress}:${settings.endpointPort + 1}`);
    this.failover = pulumi.output(settings.failover);
    this.backupRepository = repository ? repository.name : pulumi.output("");
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
      failover: this.failover,
      backupRepository: this.backupRepository,
    });
  }

  private generatedPassword(resourceName: string, after: pulumi.Resource): pulumi.Output<string> {
    // Letters and digits only: the password goes into URIs and pgpass files unescaped by users.
    return new random.RandomPassword(
      resourceName,
      { length: 32, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
      { parent: this, dependsOn: [after] },
    ).result;
  }
}
