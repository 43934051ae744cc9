import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import {
  CLUSTER_LABEL,
  CONFIG_DIR,
  POSTGRES_PORT,
  PROXY_READ_ONLY_PORT,
  PROXY_READ_WRITE_PORT,
  containerName,
  proxyConfigVolumeName,
  proxyContainerName,
} from "../names";
import { readTemplate, renderTemplate } from "../render";
import { scriptArgs } from "../scripts";
import { MAX_STANDBYS } from "../settings";
import { PATRONI_API_PORT } from "./patroni-config";

/** haproxy.cfg of the automatic mode: every possible member, checked through Patroni's API. */
export function renderPatroniProxyConfig(cluster: string): string {
  const servers = Array.from({ length: MAX_STANDBYS + 1 }, (_, i) => containerName(cluster, i + 1))
    .map((name) => `  server ${name} ${name}:${POSTGRES_PORT} check port ${PATRONI_API_PORT}`)
    .join("\n");
  return renderTemplate(readTemplate("haproxy-patroni.cfg"), { cluster, servers });
}

export interface PatroniProxyArgs {
  readonly cluster: string;
  readonly bindAddress: string;
  readonly endpointPort: number;
  readonly image: pulumi.Input<string>;
  readonly network: pulumi.Input<string>;
  /** Created first: nothing that holds data exists before the image. */
  readonly after: pulumi.Resource;
}

/**
 * The read-write and read-only endpoints, routed by Patroni's own answer to "are you the
 * leader / a replica". Its inputs do not depend on the member count, so scaling never
 * replaces or restarts it.
 */
export function createPatroniProxy(
  parent: pulumi.Resource,
  name: string,
  args: PatroniProxyArgs,
): docker.Container {
  const labels = [{ label: CLUSTER_LABEL, value: args.cluster }];
  const volume = new docker.Volume(
    `${name}-proxy-config`,
    { name: proxyConfigVolumeName(args.cluster), labels },
    { parent, dependsOn: [args.after], deleteBeforeReplace: true },
  );
  const configure = new command.local.Command(
    `${name}-proxy-configure`,
    scriptArgs("patroni-proxy-config", {
      CLUSTER: args.cluster,
      CONTAINER: proxyContainerName(args.cluster),
      IMAGE: args.image,
      CONFIG_VOLUME: volume.name,
      HAPROXY_CFG: renderPatroniProxyConfig(args.cluster),
    }),
    { parent },
  );
  const port = (internal: number, external: number) => ({
    internal,
    external,
    ip: args.bindAddress,
    protocol: "tcp",
  });
  return new docker.Container(
    `${name}-proxy`,
    {
      name: proxyContainerName(args.cluster),
      hostname: proxyContainerName(args.cluster),
      image: args.image,
      user: "haproxy",
      entrypoints: ["haproxy", "-W", "-db", "-f", `${CONFIG_DIR}/haproxy.cfg`],
      mounts: [{ type: "volume", source: volume.name, target: CONFIG_DIR, readOnly: true }],
      networksAdvanced: [{ name: args.network }],
      ports: [
        port(PROXY_READ_WRITE_PORT, args.endpointPort),
        port(PROXY_READ_ONLY_PORT, args.endpointPort + 1),
      ],
      restart: "unless-stopped",
      mustRun: true,
      stopTimeout: 10,
      destroyGraceSeconds: 10,
      labels,
    },
    { parent, dependsOn: [configure], deleteBeforeReplace: true },
  );
}
