import * as pulumi from "@pulumi/pulumi";

import { PostgresReplicaSet } from "./components/postgres-replica-set";
import { SettingsError } from "./components/settings";
import { settingsFromStackConfig } from "./components/stack-config";

const config = new pulumi.Config();
const projectPrefix = `${pulumi.getProject()}:`;
const keysPresent = Object.keys(pulumi.runtime.allConfig())
  .filter((key) => key.startsWith(projectPrefix))
  .map((key) => key.slice(projectPrefix.length));

function readSettings() {
  try {
    return settingsFromStackConfig((key) => config.get(key), keysPresent);
  } catch (error) {
    // One message naming every bad key, before any resource is registered.
    if (error instanceof SettingsError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const settings = readSettings();

const replicaSet = new PostgresReplicaSet(settings.clusterName, {
  ...settings,
  superuserPassword: config.getSecret("superuserPassword"),
  replicationPassword: config.getSecret("replicationPassword"),
  rewindPassword: config.getSecret("rewindPassword"),
});

export const primary = replicaSet.primary;
export const primaryEndpoint = replicaSet.primaryEndpoint;
export const standbyEndpoints = replicaSet.standbyEndpoints;
export const instances = replicaSet.instances;
export const network = replicaSet.network;
export const connectionString = replicaSet.connectionString;
export const readWriteUri = replicaSet.readWriteUri;
export const readOnlyUri = replicaSet.readOnlyUri;
export const readWriteEndpoint = replicaSet.readWriteEndpoint;
export const readOnlyEndpoint = replicaSet.readOnlyEndpoint;
export const superuserPassword = replicaSet.superuserPassword;
export const replicationPassword = replicaSet.replicationPassword;
export const failover = replicaSet.failover;
export const backupRepository = replicaSet.backupRepository;
