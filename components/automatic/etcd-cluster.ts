import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import { CLUSTER_LABEL } from "../names";
import { rolloutImage } from "./rollout-image";

/** etcd's client and peer ports on the cluster network; neither is published on the host. */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** Mount point of each member's volume: the Debian package's directory, owned by etcd. */
const ETCD_VOLUME_DIR = "/var/lib/etcd";

export function etcdContainerName(cluster: string, member: number): string {
  return `${cluster}-etcd-${member}`;
}

export function etcdVolumeName(cluster: string, member: number): string {
  return `${cluster}-etcd-${member}-data`;
}

function memberNumbers(members: number): number[] {
  return Array.from({ length: members }, (_, i) => i + 1);
}

/** `host:port,...` of every etcd member, as Patroni's etcd3 section takes it. */
export function etcdClientHosts(cluster: string, members: number): string {
  return memberNumbers(members)
    .map((m) => `${etcdContainerName(cluster, m)}:${ETCD_CLIENT_PORT}`)
    .join(",");
}

/** The arguments etcd member m starts with: a static cluster of fixed size. */
export function etcdArguments(cluster: string, members: number, member: number): string[] {
  const self = etcdContainerName(cluster, member);
  const initialCluster = memberNumbers(members)
    .map(
      (m) =>
        `${etcdContainerName(cluster, m)}=http://${etcdContainerName(cluster, m)}:${ETCD_PEER_PORT}`,
    )
    .join(",");
  return [
    "--name",
    self,
    "--data-dir",
    `${ETCD_VOLUME_DIR}/data`,
    "--listen-client-urls",
    `http://0.0.0.0:${ETCD_CLIENT_PORT}`,
    "--advertise-client-urls",
    `http://${self}:${ETCD_CLIENT_PORT}`,
    "--listen-peer-urls",
    `http://0.0.0.0:${ETCD_PEER_PORT}`,
    "--initial-advertise-peer-urls",
    `http://${self}:${ETCD_PEER_PORT}`,
    "--initial-cluster",
    initialCluster,
    // Members of another cluster of the same name elsewhere never join this one.
    "--initial-cluster-token",
    `postgres-replication-${cluster}`,
    "--initial-cluster-state",
    "new",
  ];
}

/** What the etcd cluster needs from the replica set around it. */
export interface EtcdClusterArgs {
  readonly cluster: string;
  readonly members: number;
  /** The engine image's ID (it carries Debian's etcd-server). */
  readonly image: pulumi.Input<string>;
  readonly network: pulumi.Input<string>;
  /** Created first: nothing that holds data exists before the image. */
  readonly after: pulumi.Resource;
}

/**
 * Patroni's consensus store: `members` etcd containers on the cluster network, each with its
 * own volume. Patroni keeps the leader key here; a leader that cannot renew it demotes itself.
 */
export function createEtcdCluster(
  parent: pulumi.Resource,
  name: string,
  args: EtcdClusterArgs,
): docker.Container[] {
  const labels = [{ label: CLUSTER_LABEL, value: args.cluster }];
  const containers: docker.Container[] = [];
  for (const m of memberNumbers(args.members)) {
    const before = containers[containers.length - 1];
    const volume = new docker.Volume(
      `${name}-etcd-${m}-data`,
      { name: etcdVolumeName(args.cluster, m), labels },
      {
        parent,
        dependsOn: [args.after],
        deleteBeforeReplace: true,
        ignoreChanges: ["labels", "driver", "driverOpts"],
      },
    );
    // A new image reaches one member at a time, so that the others keep a quorum.
    const image = before
      ? rolloutImage(parent, {
          resourceName: `${name}-etcd-${m}-image`,
          cluster: args.cluster,
          kind: "etcd",
          image: args.image,
          dependsOn: [before],
        })
      : args.image;
    const container = new docker.Container(
      `${name}-etcd-${m}`,
      {
        name: etcdContainerName(args.cluster, m),
        hostname: etcdContainerName(args.cluster, m),
        image,
        user: "etcd",
        entrypoints: ["etcd"],
        command: etcdArguments(args.cluster, args.members, m),
        mounts: [{ type: "volume", source: volume.name, target: ETCD_VOLUME_DIR }],
        networksAdvanced: [{ name: args.network, aliases: [etcdContainerName(args.cluster, m)] }],
        // The base image's stop signal is PostgreSQL's (SIGINT); etcd stops cleanly on SIGTERM.
        stopSignal: "SIGTERM",
        restart: "unless-stopped",
        mustRun: false,
        stopTimeout: 10,
        destroyGraceSeconds: 10,
        labels,
      },
      { parent, deleteBeforeReplace: true },
    );
    containers.push(container);
  }
  return containers;
}
