/** Label carried by every Docker object of a replica set; its value is the cluster name. */
export const CLUSTER_LABEL = "postgres-replication.cluster";
/** Label carried by every container and data volume: the instance number. */
export const INSTANCE_LABEL = "postgres-replication.instance";

/** Mount points inside every container (as in the tutorial). */
export const DATA_DIR = "/data";
/**
 * PostgreSQL's data directory under Patroni: a subdirectory of the data volume, since
 * PostgreSQL wants a directory it owns with mode 0700, and a volume root is not.
 */
export const PATRONI_DATA_DIR = `${DATA_DIR}/pgdata`;
export const CONFIG_DIR = "/config";
export const ARCHIVE_DIR = "/mnt/server/archive";
export const POSTGRES_PORT = 5432;

/** Instance numbers 1 … standbys + 1. */
export function instanceNumbers(standbys: number): number[] {
  return Array.from({ length: standbys + 1 }, (_, i) => i + 1);
}

export function containerName(cluster: string, instance: number): string {
  return `${cluster}-${instance}`;
}

export function dataVolumeName(cluster: string, instance: number): string {
  return `${cluster}-${instance}-data`;
}

/** Holds postgresql.conf, pg_hba.conf, pg_ident.conf and the password files, mounted at /config. */
export function configVolumeName(cluster: string, instance: number): string {
  return `${cluster}-${instance}-config`;
}

export function archiveVolumeName(cluster: string): string {
  return `${cluster}-wal-archive`;
}

/** What every slot of a cluster starts with; slot names allow [a-z0-9_] only. */
export function slotPrefix(cluster: string): string {
  return `${cluster.replace(/-/g, "_")}_`;
}

/** Physical slot for an instance while it is a standby. */
export function slotName(cluster: string, instance: number): string {
  return `${slotPrefix(cluster)}${instance}`;
}

export function hostPortOf(firstHostPort: number, instance: number): number {
  return firstHostPort + instance - 1;
}

/** The endpoint proxy (read-write and read-only endpoints) and its configuration volume. */
export function proxyContainerName(cluster: string): string {
  return `${cluster}-proxy`;
}

export function proxyConfigVolumeName(cluster: string): string {
  return `${cluster}-proxy-config`;
}

/** Ports the proxy listens on inside its container: read-write, then read-only. */
export const PROXY_READ_WRITE_PORT = 5432;
export const PROXY_READ_ONLY_PORT = 5433;

/**
 * The role the endpoint proxy's health checks log in as: LOGIN only, database postgres only;
 * `select pg_is_in_recovery()` needs nothing more.
 */
export const PROBE_USER = "endpoint_probe";
