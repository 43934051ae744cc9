import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import { createBackup } from "../backup";
import { containerName, hostPortOf, instanceNumbers, proxyContainerName } from "../names";
import { RoleOutputs } from "../role-outputs";
import { ReplicaSetSettings } from "../settings";
import { multiHostUri, singleHostUri } from "../uris";
import { createEtcdCluster, etcdContainerName } from "./etcd-cluster";
import {
  clusterCheck,
  currentLeader,
  dynamicConfigCommand,
  endpointsCheck,
  PatroniCommandArgs,
  switchoverCommand,
} from "./leader";
import { dynamicConfig } from "./patroni-config";
import { createPatroniMember, PatroniMember, PatroniSecrets } from "./patroni-instances";
import { rolloutImage } from "./rollout-image";
import { createPatroniProxy } from "./patroni-proxy";

/** What the shared part of PostgresReplicaSet hands to the automatic mode. */
export interface AutomaticReplicaSetArgs {
  readonly settings: ReplicaSetSettings;
  /** ID of the engines' image (Patroni, etcd, HAProxy, pgBackRest): every container runs it. */
  readonly engineImage: pulumi.Output<string>;
  /** Created first: nothing that holds data exists before the image. */
  readonly image: pulumi.Resource;
  readonly network: docker.Network;
  readonly archiveVolume?: pulumi.Input<string>;
  /** The pgBackRest repository (also the WAL archive), when backups are on. */
  readonly repository?: docker.Volume;
  readonly secrets: PatroniSecrets;
}

/**
 * Automatic failover: an etcd cluster, one Patroni per instance, HAProxy asking Patroni who
 * leads. Pulumi declares the members and the preferred leader; Patroni decides who leads at
 * any moment, and the outputs report what Patroni says at `up` time.
 */
export function buildAutomaticReplicaSet(
  parent: pulumi.Resource,
  name: string,
  args: AutomaticReplicaSetArgs,
): RoleOutputs {
  const { settings } = args;
  const cluster = settings.clusterName;
  const numbers = instanceNumbers(settings.standbys);
  const members = numbers.map((n) => containerName(cluster, n));
  const preferred = containerName(cluster, settings.primary);

  const image = args.engineImage;
  const etcd = createEtcdCluster(parent, name, {
    cluster,
    members: settings.etcdMembers,
    image,
    network: args.network.name,
    after: args.image,
  });

  // The order a new image reaches the members: the replicas, then the preferred leader, one
  // at a time (rolloutImage). Whichever member starts first bootstraps the cluster; the
  // switchover below then hands the lead to the preferred one.
  const rolloutOrder = [...numbers.filter((n) => n !== settings.primary), settings.primary];
  const rollout: PatroniMember[] = [];
  for (const n of rolloutOrder) {
    const before = rollout[rollout.length - 1];
    rollout.push(
      createPatroniMember(parent, name, {
        settings,
        instance: n,
        image: before
          ? rolloutImage(parent, {
              resourceName: `${name}-${n}-image`,
              cluster,
              kind: "member",
              image,
              dependsOn: [before.container],
            })
          : image,
        network: args.network.name,
        archiveVolume: args.archiveVolume,
        secrets: args.secrets,
        dependsOn: etcd,
        after: args.image,
        members: members.join(" "),
      }),
    );
  }
  // In instance order: the checks' inputs must not change with primary.
  const all = [...rollout].sort((a, b) => a.instance - b.instance);

  const commandArgs: PatroniCommandArgs = {
    members,
    etcdContainer: etcdContainerName(cluster, 1),
    superuser: settings.superuser,
    database: settings.database,
    apiPassword: args.secrets.api,
  };
  const check = clusterCheck(
    parent,
    name,
    commandArgs,
    all.map((m) => m.container.id),
    all.map((m) => m.ready),
  );
  const config = dynamicConfigCommand(parent, name, commandArgs, dynamicConfig(settings), [check]);
  const switchover = switchoverCommand(
    parent,
    name,
    commandArgs,
    preferred,
    all.map((m) => m.container.id),
    [check, config],
  );

  const proxy = createPatroniProxy(parent, name, {
    cluster,
    bindAddress: settings.bindAddress,
    endpointPort: settings.endpointPort,
    image,
    network: args.network.name,
    after: args.image,
  });
  const endpoints = endpointsCheck(
    parent,
    name,
    { ...commandArgs, proxy: proxyContainerName(cluster) },
    [proxy.id, ...all.map((m) => m.container.id)],
    [switchover, proxy],
  );

  if (args.repository) {
    createBackup(parent, name, {
      settings,
      engineImage: image,
      network: args.network.name,
      repository: args.repository,
      dataVolumes: new Map(all.map((m) => [m.instance, m.dataVolume.name])),
      // Whoever leads when it runs is the preferred member (the switchover hands it the lead);
      // backups themselves find the leader of the moment.
      primaryContainer: preferred,
      superuserPassword: args.secrets.superuser,
      stanzaAfter: [switchover],
      containerAfter: [switchover],
      image: args.image,
    });
  }

  const leaderNumber = pulumi
    // The commands' IDs, not their (secret) output: the leader is no secret.
    .all([check.id, config.id, switchover.id, endpoints.id])
    .apply(() => members.indexOf(currentLeader(members, preferred)) + 1);
  const endpoint = (n: number) => `${settings.bindAddress}:${hostPortOf(settings.hostPort, n)}`;
  const hosts = numbers.map((n) => ({
    host: settings.bindAddress,
    port: hostPortOf(settings.hostPort, n),
  }));
  const credentials = { user: settings.superuser, database: settings.database };
  const superuser = pulumi.output(args.secrets.superuser);
  return {
    primary: leaderNumber.apply((leader) => containerName(cluster, leader)),
    primaryEndpoint: leaderNumber.apply(endpoint),
    standbyEndpoints: leaderNumber.apply((leader) =>
      numbers.filter((n) => n !== leader).map(endpoint),
    ),
    instances: leaderNumber.apply((leader) =>
      numbers.map((n) => ({
        name: containerName(cluster, n),
        role: n === leader ? ("primary" as const) : ("standby" as const),
        hostPort: hostPortOf(settings.hostPort, n),
      })),
    ),
    connectionString: pulumi.secret(
      pulumi
        .all([superuser, leaderNumber])
        .apply(([password, leader]) =>
          singleHostUri({ ...credentials, password, ...hosts[leader - 1] }),
        ),
    ),
    readWriteUri: pulumi.secret(
      superuser.apply((password) =>
        multiHostUri({ ...credentials, password }, hosts, "read-write"),
      ),
    ),
    readOnlyUri: pulumi.secret(
      superuser.apply((password) =>
        multiHostUri({ ...credentials, password }, hosts, "prefer-standby"),
      ),
    ),
  };
}
