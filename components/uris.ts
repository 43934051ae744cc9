/** libpq connection URIs (https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING). */

export interface UriCredentials {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type TargetSessionAttrs = "read-write" | "prefer-standby";

function userInfo(c: UriCredentials): string {
  return `${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}`;
}

export function singleHostUri(c: UriCredentials & HostPort): string {
  return `postgresql://${userInfo(c)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** One URI over every instance; libpq tries the hosts in order and keeps the first that fits. */
export function multiHostUri(
  c: UriCredentials,
  hosts: readonly HostPort[],
  targetSessionAttrs: TargetSessionAttrs,
): string {
  const hostList = hosts.map((h) => `${h.host}:${h.port}`).join(",");
  return (
    `postgresql://${userInfo(c)}@${hostList}/${encodeURIComponent(c.database)}` +
    `?target_session_attrs=${targetSessionAttrs}`
  );
}
