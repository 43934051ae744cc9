import { DEFAULT_BACKUP } from "../../components/backup-settings";
import { renderProxyConfig } from "../../components/endpoint-proxy";
import { renderInstanceConfig } from "../../components/instance-config";
import { renderTemplate } from "../../components/render";
import { MAX_STANDBYS, ReplicaSetSettings, resolveSettings } from "../../components/settings";

/** postgresql.conf as PostgreSQL reads it: the last assignment of a name wins. */
function parseConf(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const match = /^([a-z_.]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${raw}`);
    const value = match[2].trim();
    settings.set(
      match[1],
      value.startsWith("'") ? value.slice(1, -1).replace(/''/g, "'").replace(/\\\\/g, "\\") : value,
    );
  }
  return settings;
}

interface HbaRule {
  type: string;
  database: string;
  user: string;
  address: string;
  method: string;
}

function parseHba(text: string): HbaRule[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "")
    .map((line) => {
      const fields = line.split(/\s+/);
      if (fields[0] === "local") {
        return {
          type: "local",
          database: fields[1],
          user: fields[2],
          address: "",
          method: fields[3],
        };
      }
      return {
        type: fields[0],
        database: fields[1],
        user: fields[2].replace(/"/g, ""),
        address: fields[3],
        method: fields[4],
      };
    });
}

const render = (given: Partial<ReplicaSetSettings>, instance: number) =>
  renderInstanceConfig(resolveSettings(given), instance);

describe("postgresql.conf", () => {
  const primary = parseConf(render({ standbys: 2 }, 1)["postgresql.conf"]);
  const standby = parseConf(render({ standbys: 2 }, 2)["postgresql.conf"]);

  test("keeps the tutorial's settings, with the data_directory typo fixed", () => {
    expect(primary.get("data_directory")).toBe("/data");
    expect(primary.has("ata_directory")).toBe(false);
    expect(primary.get("hba_file")).toBe("/config/pg_hba.conf");
    expect(primary.get("ident_file")).toBe("/config/pg_ident.conf");
    expect(primary.get("listen_addresses")).toBe("*");
    expect(primary.get("max_connections")).toBe("100");
    expect(primary.get("shared_buffers")).toBe("128MB");
    expect(primary.get("lc_messages")).toBe("en_US.utf8");
  });

  test("enables replication, rewind and hot standby", () => {
    for (const conf of [primary, standby]) {
      expect(conf.get("wal_level")).toBe("replica");
      expect(conf.get("wal_log_hints")).toBe("on");
      expect(conf.get("hot_standby")).toBe("on");
      expect(conf.get("password_encryption")).toBe("scram-sha-256");
      expect(conf.get("log_replication_commands")).toBe("on");
      expect(conf.get("max_slot_wal_keep_size")).toBe("1GB");
    }
  });

  test("has enough WAL senders for every standby plus clones in progress", () => {
    const senders = Number(primary.get("max_wal_senders"));
    expect(senders).toBeGreaterThan(3);
    expect(senders).toBeGreaterThanOrEqual(2 * 15 + 1);
    expect(Number(primary.get("max_replication_slots"))).toBeGreaterThanOrEqual(15);
  });

  test("archives through pgBackRest into the cluster's stanza and restores from it", () => {
    expect(primary.get("archive_mode")).toBe("on");
    expect(primary.get("archive_command")).toBe(
      "pgbackrest --config=/config/pgbackrest.conf --stanza=postgres archive-push %p",
    );
    expect(standby.get("restore_command")).toBe(
      'pgbackrest --config=/config/pgbackrest.conf --stanza=postgres archive-get %f "%p"',
    );
  });

  test("with backups off, archives to the shared volume and restores from it", () => {
    const off = (n: number) =>
      parseConf(
        render({ standbys: 2, backup: { ...DEFAULT_BACKUP, enabled: false } }, n)[
          "postgresql.conf"
        ],
      );
    expect(off(1).get("archive_command")).toBe(
      "test ! -f /mnt/server/archive/%f && cp %p /mnt/server/archive/%f",
    );
    expect(off(2).get("restore_command")).toBe("cp /mnt/server/archive/%f %p");
  });

  test("a segment reaches the archive within a minute even when not full; a stack parameter overrides it", () => {
    expect(primary.get("archive_timeout")).toBe("60s");
    const without = parseConf(render({ standbys: 1, walArchive: false }, 1)["postgresql.conf"]);
    expect(without.get("archive_timeout")).toBe("0");
    const tuned = parseConf(
      render({ standbys: 1, parameters: { archive_timeout: "5min" } }, 1)["postgresql.conf"],
    );
    expect(tuned.get("archive_timeout")).toBe("5min");
  });

  test("points a standby at the primary through a passfile and its own slot", () => {
    const conninfo = standby.get("primary_conninfo") ?? "";
    expect(conninfo).toContain("host=postgres-1");
    expect(conninfo).toContain("user=replicationUser");
    expect(conninfo).toContain("passfile=/config/replication.pgpass");
    expect(conninfo).toContain("application_name=postgres-2");
    expect(conninfo).not.toMatch(/password=/);
    expect(standby.get("primary_slot_name")).toBe("postgres_2");
    expect(primary.get("primary_conninfo")).toBe("");
    expect(primary.get("primary_slot_name")).toBe("");
  });

  test("synchronous replication waits for any k standbys", () => {
    expect(primary.get("synchronous_standby_names")).toBe("");
    const sync = parseConf(render({ standbys: 3, synchronousStandbys: 2 }, 1)["postgresql.conf"]);
    expect(sync.get("synchronous_standby_names")).toBe("ANY 2 (*)");
  });

  test("no slots and no archive when they are turned off", () => {
    const conf = parseConf(
      render({ replicationSlots: false, walArchive: false }, 2)["postgresql.conf"],
    );
    expect(conf.get("primary_slot_name")).toBe("");
    expect(conf.get("wal_keep_size")).toBe("1GB");
    expect(conf.get("archive_mode")).toBe("off");
    expect(conf.get("restore_command")).toBe("");
  });

  test("stack parameters come last, so they win, and are quoted safely", () => {
    const conf = parseConf(
      render(
        {
          parameters: {
            shared_buffers: "256MB",
            jit: false,
            work_mem: 4096,
            application_name: "it's",
          },
        },
        1,
      )["postgresql.conf"],
    );
    expect(conf.get("shared_buffers")).toBe("256MB");
    expect(conf.get("jit")).toBe("off");
    expect(conf.get("work_mem")).toBe("4096");
    expect(conf.get("application_name")).toBe("it's");
  });

  test("does not change with the number of standbys", () => {
    for (const n of [1, 2]) {
      expect(render({ standbys: 1 }, n)).toEqual(render({ standbys: 5 }, n));
    }
  });
});

describe("pg_hba.conf", () => {
  const rules = parseHba(render({}, 1)["pg_hba.conf"]);
  const tcp = rules.filter((r) => r.type.startsWith("host"));

  test("nothing is trusted over TCP, nothing uses md5 or password, nothing is open to the world", () => {
    expect(tcp.length).toBeGreaterThan(0);
    for (const rule of tcp) {
      expect(["scram-sha-256", "reject"]).toContain(rule.method);
      expect(rule.address).toBe("samenet");
    }
    expect(rules.map((r) => r.method)).not.toContain("trust");
    expect(rules.map((r) => r.method)).not.toContain("md5");
  });

  test("replication is allowed for the replication user only, and that user only replicates", () => {
    const replication = tcp.filter((r) => r.database === "replication");
    expect(replication[0]).toMatchObject({ user: "replicationUser", method: "scram-sha-256" });
    expect(replication.slice(1).every((r) => r.method === "reject")).toBe(true);
    const firstForUser = tcp.find((r) => r.user === "replicationUser" && r.database === "all");
    expect(firstForUser?.method).toBe("reject");
  });

  test("local socket logins are the OS user postgres as the superuser, by peer", () => {
    expect(rules.filter((r) => r.type === "local")).toEqual([
      { type: "local", database: "all", user: "all", address: "", method: "peer" },
    ]);
    expect(render({}, 1)["pg_ident.conf"]).toMatch(/^local\s+postgres\s+"postgresadmin"$/m);
  });
});

describe("instance.env", () => {
  test("says which role the instance should have and where the primary is", () => {
    expect(render({ standbys: 2, primary: 2 }, 1)["instance.env"]).toMatch(/^ROLE=standby$/m);
    expect(render({ standbys: 2, primary: 2 }, 1)["instance.env"]).toMatch(
      /^PRIMARY_HOST=postgres-2$/m,
    );
    expect(render({ standbys: 2, primary: 2 }, 2)["instance.env"]).toMatch(/^ROLE=primary$/m);
  });
});

describe("renderTemplate", () => {
  test("fills placeholders", () => {
    expect(renderTemplate("a={{x}} b={{y}}", { x: "1", y: "2" })).toBe("a=1 b=2");
  });
  test("a placeholder without a value is an error", () => {
    expect(() => renderTemplate("{{x}} {{y}}", { x: "1" })).toThrow(/\{\{y\}\} has no value/);
  });
  test("a value no placeholder uses is an error", () => {
    expect(() => renderTemplate("{{x}}", { x: "1", z: "2" })).toThrow(/not used.*z/);
  });
});

describe("endpoint proxy configuration", () => {
  test("lists every instance the cluster may have, so scaling never rewrites it", () => {
    const { haproxyCfg } = renderProxyConfig("pg");
    const servers = haproxyCfg.match(/^\s+server pg-\d+ pg-\d+:5432 check$/gm) ?? [];
    // Both backends list instances 1 … MAX_STANDBYS + 1.
    expect(servers).toHaveLength(2 * (MAX_STANDBYS + 1));
    expect(haproxyCfg).toContain("server pg-16 pg-16:5432 check");
    expect(haproxyCfg).not.toMatch(/\{\{|\}\}/);
  });

  test("routes writes to the primary backend and reads to standbys, else the primary", () => {
    const { haproxyCfg, proxyEnv } = renderProxyConfig("pg");
    expect(haproxyCfg).toMatch(/frontend read-write\n\s+bind :5432\n\s+default_backend primary/);
    expect(haproxyCfg).toMatch(/use_backend primary if \{ nbsrv\(standbys\) eq 0 \}/);
    expect(haproxyCfg).toContain("on-marked-down shutdown-sessions");
    expect(proxyEnv).toContain("PROBE_USER=endpoint_probe");
  });
});
