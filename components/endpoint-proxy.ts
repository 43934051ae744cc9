import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import {
  CLUSTER_LABEL,
  CONFIG_DIR,
  PROBE_USER,
  PROXY_READ_ONLY_PORT,
  PROXY_READ_WRITE_PORT,
  containerName,
  proxyConfigVolumeName,
  proxyContainerName,
} from "./names";
import { readTemplate, renderTemplate } from "./render";
import { CommandScriptArgs, SECRET_OUTPUTS, proxyCheckScript, scriptArgs } from "./scripts";
import { MAX_STANDBYS } from "./settings";

/** What the endpoint proxy needs from the replica set around it. */
export interface EndpointProxyArgs {
  readonly cluster: string;
  readonly bindAddress: string;
  readonly endpointPort: number;
  /** ID of the engines' image (HAProxy, and psql for the probes): see engine-image.ts. */
  readonly image: pulumi.Input<string>;
  readonly network: pulumi.Input<string>;
  readonly probePassword: pulumi.Input<string>;
  /** Created before the proxy: nothing that holds data exists before the image. */
  readonly dependsOn: pulumi.Resource[];
  /**
   * The proxy is configured, and so started, after these: it is needed only at the end of an
   * `up`, and its steps would otherwise compete with the instances' first steps.
   * @default []
   */
  readonly configureAfter?: pulumi.Resource[];
}

/** The proxy's files in its /config volume, rendered from config-templates/. */
export function renderProxyConfig(cluster: string): { haproxyCfg: string; proxyEnv: string } {
  // Every instance number the cluster may ever have: scaling never rewrites this file, so it
  // never reloads the proxy.
  const servers = Array.from({ length: MAX_STANDBYS + 1 }, (_, i) => containerName(cluster, i + 1))
    .map((name) => `  server ${name} ${name}:5432 check`)
    .join("\n");
  return {
    haproxyCfg: renderTemplate(readTemplate("haproxy.cfg"), { cluster, servers }),
    proxyEnv: renderTemplate(readTemplate("proxy.env"), { cluster, probeUser: PROBE_USER }),
  };
}

/**
 * One read-write and one read-only address for any client (node-postgres included, which
 * cannot follow a libpq multi-host URI): HAProxy routes by asking every instance whether it is
 * in recovery, so the endpoints follow every switchover and failover without a deployment.
 * Returns the proxy container; its inputs do not depend on the standby count, so scaling never
 * replaces or restarts it.
 */
export function createEndpointProxy(
  parent: pulumi.Resource,
  name: string,
  args: EndpointProxyArgs,
): { container: docker.Container; configure: command.local.Command } {
  const labels = [{ label: CLUSTER_LABEL, value: args.cluster }];
  const image = args.image;
  const volume = new docker.Volume(
    `${name}-proxy-config`,
    { name: proxyConfigVolumeName(args.cluster), labels },
    { parent, dependsOn: args.dependsOn, deleteBeforeReplace: true },
  );
  const files = renderProxyConfig(args.cluster);
  const configureArgs: CommandScriptArgs = scriptArgs("write-proxy-config", {
    CLUSTER: args.cluster,
    CONTAINER: proxyContainerName(args.cluster),
    IMAGE: image,
    CONFIG_VOLUME: volume.name,
    HAPROXY_CFG: files.haproxyCfg,
    PROXY_ENV: files.proxyEnv,
    PROXY_CHECK: proxyCheckScript(),
    PROBE_USER,
    PROBE_PASSWORD: args.probePassword,
  });
  const configure = new command.local.Command(
    `${name}-proxy-configure`,
    { ...configureArgs, logging: "none" },
    { parent, dependsOn: args.configureAfter ?? [], additionalSecretOutputs: SECRET_OUTPUTS },
  );
  const port = (internal: number, external: number) => ({
    internal,
    external,
    ip: args.bindAddress,
    protocol: "tcp",
  });
  const container = new docker.Container(
    `${name}-proxy`,
    {
      name: proxyContainerName(args.cluster),
      hostname: proxyContainerName(args.cluster),
      image,
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
  return { container, configure };
}
