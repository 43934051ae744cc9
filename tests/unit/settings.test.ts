import * as path from "path";

import { DEFAULT_SETTINGS, resolveSettings } from "../../components/settings";
import { settingsFromStackConfig } from "../../components/stack-config";
import { errorOf } from "./support/settings-error";
import { loadConfig } from "../../tools/live/config";

const fromConfig = (values: Record<string, string>) => () =>
  settingsFromStackConfig((key) => values[key], Object.keys(values));

describe("stack configuration", () => {
  test("no keys set gives the contract's defaults", () => {
    expect(settingsFromStackConfig(() => undefined)).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toMatchObject({
      clusterName: "postgres",
      standbys: 1,
      primary: 1,
      image: "postgres:15",
      hostPort: 5000,
      bindAddress: "127.0.0.1",
      database: "postgresdb",
      superuser: "postgresadmin",
      replicationUser: "replicationUser",
      replicationConnectionLimit: 5,
      synchronousStandbys: 0,
      replicationSlots: true,
      maxSlotWalKeepSize: "1GB",
      walArchive: true,
      parameters: {},
    });
  });

  test("the committed Pulumi.dev.yaml is valid and is the tutorial's topology", () => {
    const projectDir = path.join(__dirname, "..", "..");
    const { config } = loadConfig(projectDir, "postgres-replication", "dev", [], []);
    const values = Object.fromEntries(
      Object.entries(config).map(([key, value]) => [
        key.replace(/^postgres-replication:/, ""),
        value,
      ]),
    );
    expect(Object.keys(values).length).toBeGreaterThan(5);
    const settings = settingsFromStackConfig((key) => values[key], Object.keys(values));
    expect(settings).toMatchObject({ standbys: 1, primary: 1, hostPort: 5000 });
  });

  test("typed values are parsed from their text", () => {
    const settings = fromConfig({
      standbys: "3",
      primary: "2",
      replicationSlots: "false",
      walArchive: "false",
      parameters: '{"work_mem":"8MB","jit":false,"max_connections":200}',
    })();
    expect(settings).toMatchObject({
      standbys: 3,
      primary: 2,
      replicationSlots: false,
      walArchive: false,
      parameters: { work_mem: "8MB", jit: false, max_connections: 200 },
    });
  });

  // Each bad input, and what its one message must say: the key, the value, what is allowed.
  const badInputs: [string, Record<string, string>, RegExp[]][] = [
    [
      "cluster name with capitals",
      { clusterName: "Postgres" },
      [/clusterName: "Postgres"/, /\^\[a-z\]/],
    ],
    ["cluster name too long", { clusterName: "a".repeat(32) }, [/clusterName: "a{32}"/]],
    ["standbys not a number", { standbys: "two" }, [/standbys: "two"/, /integer from 0 to 15/]],
    ["negative standbys", { standbys: "-1" }, [/standbys: -1/, /integer from 0 to 15/]],
    ["too many standbys", { standbys: "16" }, [/standbys: 16/]],
    ["primary zero", { primary: "0" }, [/primary: 0/, /from 1 to 2/]],
    [
      "primary removed by scaling down",
      { standbys: "1", primary: "3" },
      [/primary: 3/, /switch over first/, /1 to 2/],
    ],
    ["host port out of range", { hostPort: "70000" }, [/hostPort: 70000/, /1 to 65535/]],
    [
      "port range past 65535",
      { hostPort: "65535", standbys: "2" },
      [/hostPort: 65535/, /65535 to 65537/],
    ],
    [
      "bind address not an address",
      { bindAddress: "localhost" },
      [/bindAddress: "localhost"/, /IPv4/],
    ],
    ["database with a quote", { database: "a'b" }, [/database: "a'b"/]],
    ["superuser with a space", { superuser: "post gres" }, [/superuser: "post gres"/, /role name/]],
    [
      "replication user equal to the superuser",
      { superuser: "admin", replicationUser: "admin" },
      [/replicationUser: "admin"/, /must differ from superuser/],
    ],
    [
      "connection limit zero",
      { replicationConnectionLimit: "0" },
      [/replicationConnectionLimit: 0/, /1 to 1000/],
    ],
    [
      "more synchronous standbys than standbys",
      { standbys: "1", synchronousStandbys: "2" },
      [/synchronousStandbys: 2/, /0 to standbys \(1\)/],
    ],
    [
      "slots not a boolean",
      { replicationSlots: "yes" },
      [/replicationSlots: "yes"/, /true or false/],
    ],
    ["archive not a boolean", { walArchive: "1" }, [/walArchive: "1"/, /true or false/]],
    [
      "WAL size without a unit",
      { maxSlotWalKeepSize: "lots" },
      [/maxSlotWalKeepSize: "lots"/, /"1GB"/],
    ],
    ["image with a space", { image: "postgres 15" }, [/image: "postgres 15"/]],
    ["parameters not an object", { parameters: "[1]" }, [/parameters: \[1\]/, /object/]],
    [
      "unknown parameter",
      { parameters: '{"shared_bufers":"1GB"}' },
      [/parameters.shared_bufers/, /not a PostgreSQL 15 parameter; did you mean shared_buffers\?/],
    ],
    [
      "parameter managed by the component",
      { parameters: '{"primary_conninfo":"host=x"}' },
      [/parameters.primary_conninfo/, /managed/, /config key primary/],
    ],
    [
      "parameter value not a scalar",
      { parameters: '{"work_mem":{"a":1}}' },
      [/parameters.work_mem/, /string, number or boolean/],
    ],
    [
      "misspelt key",
      { standby: "2" },
      [/standby: is not a configuration key; did you mean standbys\?/],
    ],
    ["unknown key", { colour: "blue" }, [/colour: is not a configuration key; known keys are/]],
    [
      "endpoints among the instances' ports",
      { hostPort: "5000", endpointPort: "5010" },
      [/endpointPort: 5010 is not allowed/, /instances' ports 5000 to 5015/],
    ],
    [
      "endpoint port out of range",
      { endpointPort: "65535" },
      [/endpointPort: 65535/, /1 to 65534/],
    ],
    [
      "parameters not JSON",
      { parameters: "work_mem=16MB" },
      [/parameters: "work_mem=16MB" is not allowed/, /--path 'parameters.work_mem' 16MB/],
    ],
  ];

  test.each(badInputs)("rejects %s", (_title, values, expected) => {
    const error = errorOf(fromConfig(values));
    expect(error.problems).toHaveLength(1);
    for (const pattern of expected) expect(error.message).toMatch(pattern);
  });

  test("every problem is reported in the one message", () => {
    const error = errorOf(fromConfig({ standbys: "x", hostPort: "0", bindAddress: "::1" }));
    expect(error.problems).toHaveLength(3);
    expect(error.message).toMatch(/standbys: "x"/);
    expect(error.message).toMatch(/hostPort: 0/);
    expect(error.message).toMatch(/bindAddress: "::1"/);
  });

  test("the component validates the same way when used without stack config", () => {
    expect(() => resolveSettings({ standbys: 2, primary: 4 })).toThrow(/switch over first/);
    expect(resolveSettings({ standbys: 2, primary: 3 }).primary).toBe(3);
  });

  test("extension parameters are allowed by their dotted name", () => {
    const settings = resolveSettings({ parameters: { "pg_stat_statements.max": 1000 } });
    expect(settings.parameters).toEqual({ "pg_stat_statements.max": 1000 });
  });
});
