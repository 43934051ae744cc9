import { execFileSync } from "child_process";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import { SECRET_OUTPUTS, scriptArgs, scriptCommand } from "../scripts";
import { PATRONI_API_PORT, PATRONI_API_USER } from "./patroni-config";

/** What the cluster-wide commands share. */
export interface PatroniCommandArgs {
  readonly members: string[];
  readonly etcdContainer: string;
  readonly superuser: string;
  readonly database: string;
  readonly apiPassword: pulumi.Input<string>;
}

const CHECK_SECONDS = 300;

/**
 * `up`'s last word on the cluster, after every change of members: etcd is healthy, one leader
 * and every member run, the database exists. Runs again whenever a member is re-created.
 */
export function clusterCheck(
  parent: pulumi.Resource,
  name: string,
  args: PatroniCommandArgs,
  containerIds: pulumi.Input<string>[],
  dependsOn: pulumi.Resource[],
): command.local.Command {
  return new command.local.Command(
    `${name}-check`,
    {
      ...scriptArgs("patroni", {
        MEMBERS: args.members.join(" "),
        ETCD_CONTAINER: args.etcdContainer,
        SUPERUSER: args.superuser,
        DATABASE: args.database,
        TIMEOUT_SECONDS: String(CHECK_SECONDS),
        CONTAINER_IDS: pulumi.all(containerIds).apply((ids) => ids.join(" ")),
      }),
      create: scriptCommand("patroni", "check"),
    },
    { parent, dependsOn },
  );
}

/**
 * Patroni's dynamic configuration (timings, synchronous mode, slots, PostgreSQL settings),
 * applied through PATCH /config when, and only when, it changes.
 */
export function dynamicConfigCommand(
  parent: pulumi.Resource,
  name: string,
  args: PatroniCommandArgs,
  config: Record<string, unknown>,
  dependsOn: pulumi.Resource[],
): command.local.Command {
  return new command.local.Command(
    `${name}-patroni-config`,
    {
      ...scriptArgs("patroni", {
        MEMBERS: args.members.join(" "),
        API_USER: PATRONI_API_USER,
        API_PASSWORD: args.apiPassword,
        DYNAMIC_CONFIG: JSON.stringify(config),
      }),
      create: scriptCommand("patroni", "config"),
      logging: "none",
    },
    { parent, dependsOn, additionalSecretOutputs: SECRET_OUTPUTS },
  );
}

/**
 * `primary` names the preferred leader: a Patroni switchover to it when the member list or
 * the preference changes, or a member was re-created (a new cluster, an image rollout), and it
 * does not lead already. A failover Patroni made by itself is left alone until then.
 */
export function switchoverCommand(
  parent: pulumi.Resource,
  name: string,
  args: PatroniCommandArgs,
  preferred: string,
  containerIds: pulumi.Input<string>[],
  dependsOn: pulumi.Resource[],
): command.local.Command {
  return new command.local.Command(
    `${name}-switchover`,
    {
      ...scriptArgs("patroni", {
        MEMBERS: args.members.join(" "),
        API_USER: PATRONI_API_USER,
        API_PASSWORD: args.apiPassword,
        PREFERRED: preferred,
        TIMEOUT_SECONDS: String(CHECK_SECONDS),
        CONTAINER_IDS: pulumi.all(containerIds).apply((ids) => ids.join(" ")),
      }),
      create: scriptCommand("patroni", "switchover"),
      logging: "none",
    },
    { parent, dependsOn, additionalSecretOutputs: SECRET_OUTPUTS },
  );
}

const LEADER_QUERY =
  "import json, urllib.request; " +
  `d = json.load(urllib.request.urlopen('http://127.0.0.1:${PATRONI_API_PORT}/cluster', timeout=5)); ` +
  "print(next((m['name'] for m in d['members'] if m['role'] == 'leader'), ''))";

/**
 * The member that leads now, as Patroni tells it (GET /cluster needs no credentials), read
 * when `up` runs; `fallback` during a preview or when no member answers. Reading it is not a
 * resource, so it changes the outputs without ever showing a change in the plan.
 */
export function currentLeader(members: string[], fallback: string): string {
  if (pulumi.runtime.isDryRun()) return fallback;
  for (const member of members) {
    try {
      const leader = execFileSync("docker", ["exec", member, "python3", "-c", LEADER_QUERY], {
        encoding: "utf8",
        timeout: 15_000,
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
      if (members.includes(leader)) return leader;
    } catch {
      // That member is down; ask the next one.
    }
  }
  return fallback;
}

/**
 * After every change of members or of the proxy: the read-write endpoint reaches the leader
 * and the read-only one a replica (HAProxy counts a server as up until its first checks fail).
 */
export function endpointsCheck(
  parent: pulumi.Resource,
  name: string,
  args: PatroniCommandArgs & { readonly proxy: string },
  containerIds: pulumi.Input<string>[],
  dependsOn: pulumi.Resource[],
): command.local.Command {
  return new command.local.Command(
    `${name}-endpoints`,
    {
      ...scriptArgs("patroni", {
        MEMBERS: args.members.join(" "),
        PROXY: args.proxy,
        SUPERUSER: args.superuser,
        CONTAINER_IDS: pulumi.all(containerIds).apply((ids) => ids.join(" ")),
      }),
      create: scriptCommand("patroni", "endpoints"),
    },
    { parent, dependsOn },
  );
}
