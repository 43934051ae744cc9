import {
  formatG,
  parameterSpec,
  parameterValueProblem,
  parameterVerdict,
  rint,
} from "../../components/parameter-values";
import { ParameterValue, parameterContext, resolveSettings } from "../../components/settings";
import { settingsFromStackConfig } from "../../components/stack-config";
import { errorOf } from "./support/settings-error";

/** name, value, the setting PostgreSQL 15 arrives at (SHOW's raw value). */
const ACCEPTED: readonly (readonly [string, ParameterValue, string])[] = [
  // integer, kB: units convert, fractions round to the nearest whole kB, ties to even
  ["work_mem", "4MB", "4096"],
  ["work_mem", "64kB", "64"],
  ["work_mem", 4096, "4096"],
  ["work_mem", "4096", "4096"],
  ["work_mem", "1TB", "1073741824"],
  ["work_mem", "1.5MB", "1536"],
  ["work_mem", ".5MB", "512"],
  ["work_mem", "64.5kB", "64"],
  ["work_mem", "65.5kB", "66"],
  ["work_mem", "65535B", "64"],
  ["work_mem", "4 MB", "4096"],
  ["work_mem", " 4MB ", "4096"],
  ["work_mem", "0x1000", "4096"],
  ["work_mem", "010000", "4096"],
  ["work_mem", "1e3", "1000"],
  ["work_mem", "1.5e3kB", "1500"],
  // integer, 8kB blocks
  ["shared_buffers", "128MB", "16384"],
  ["shared_buffers", "128kB", "16"],
  ["shared_buffers", "127kB", "16"],
  ["shared_buffers", "131072B", "16"],
  ["shared_buffers", 16, "16"],
  ["wal_buffers", -1, "-1"],
  // integer, MB and B
  ["max_wal_size", "1.5GB", "1536"],
  ["max_wal_size", "1536kB", "2"],
  ["track_activity_query_size", "1kB", "1024"],
  ["track_activity_query_size", "0.5kB", "512"],
  // integer, ms, s, min
  ["statement_timeout", "1.5min", "90000"],
  ["statement_timeout", "1500us", "2"],
  ["statement_timeout", "2500us", "2"],
  ["statement_timeout", "24d", "2073600000"],
  ["statement_timeout", "1 h", "3600000"],
  ["checkpoint_timeout", "29.5s", "30"],
  ["checkpoint_timeout", "1d", "86400"],
  ["log_rotation_age", "90s", "2"],
  ["log_rotation_age", "30s", "0"],
  // integer without a unit
  ["max_connections", 200, "200"],
  ["max_connections", "1.5e2", "150"],
  ["max_connections", "101.5", "102"],
  ["max_connections", "0x64", "100"],
  ["max_stack_depth", "7680kB", "7680"],
  // real
  ["random_page_cost", 1.1, "1.1"],
  ["random_page_cost", "1e-7", "1e-07"],
  ["random_page_cost", "0x1p-3", "0.125"],
  ["random_page_cost", "5.", "5"],
  ["random_page_cost", "1.7976931348623157e308", "1.79769e+308"],
  ["cursor_tuple_fraction", 0.5, "0.5"],
  ["vacuum_cost_delay", "1500us", "1.5"],
  ["vacuum_cost_delay", "0.1s", "100"],
  ["autovacuum_vacuum_cost_delay", -1, "-1"],
  // bool: any case, unique prefixes, 1/0, JSON booleans
  ["jit", true, "on"],
  ["jit", false, "off"],
  ["jit", "OFF", "off"],
  ["jit", "Of", "off"],
  ["jit", "t", "on"],
  ["jit", "tru", "on"],
  ["jit", "y", "on"],
  ["jit", "n", "off"],
  ["jit", "fals", "off"],
  ["jit", 1, "on"],
  ["jit", "0", "off"],
  ["bonjour", false, "off"],
  // enum: any case, and the spellings pg_settings does not list
  ["wal_compression", "LZ4", "lz4"],
  ["wal_compression", "true", "pglz"],
  ["synchronous_commit", true, "on"],
  ["synchronous_commit", "yes", "on"],
  ["log_min_messages", "debug", "debug2"],
  ["client_min_messages", "info", "info"],
  ["default_transaction_isolation", "Repeatable Read", "repeatable read"],
  ["wal_level", "hot_standby", "replica"],
  // string
  ["application_name", "it's a test", "it's a test"],
  ["application_name", 42, "42"],
  ["search_path", '"$user", public', '"$user", public'],
  // not a PostgreSQL 15 parameter: nothing to check here
  ["pg_stat_statements.max", "lots", "lots"],
];

/** name, value, patterns the message must match. */
const REFUSED: readonly (readonly [string, ParameterValue, readonly RegExp[]])[] = [
  ["work_mem", "lots", [/an amount of memory such as "4MB"/, /64kB to 2147483647kB/]],
  ["work_mem", "", [/an amount of memory/]],
  ["work_mem", "63kB", [/64kB to 2147483647kB/, /"63kB" is below the minimum/]],
  ["work_mem", "4.5", [/"4.5" rounds to 4kB, below the minimum/]],
  ["work_mem", 4.4, [/4.4 rounds to 4kB, below the minimum/]],
  ["work_mem", "65023B", [/rounds to 63kB/]],
  ["work_mem", "2TB", [/exceeds the integer range/]],
  ["work_mem", "2147483648", [/exceeds the integer range/]],
  ["work_mem", "4mb", [/unit B, kB, MB, GB or TB/]],
  ["work_mem", "4M", [/unit B, kB, MB, GB or TB/]],
  ["work_mem", "4MBs", [/unit B, kB, MB, GB or TB/]],
  ["work_mem", "4 M B", [/an amount of memory/]],
  ["work_mem", "08", [/an amount of memory/]],
  ["work_mem", "09.5", [/an amount of memory/]],
  ["work_mem", "0x", [/an amount of memory/]],
  ["work_mem", "1e", [/an amount of memory/]],
  ["work_mem", "3000000000", [/exceeds the integer range/]],
  ["work_mem", "99999999999999999999", [/exceeds the integer range/]],
  ["work_mem", true, [/an amount of memory/]],
  ["shared_buffers", "120kB", [/a bare number is in 8kB blocks/, /128kB to 8589934584kB/]],
  ["shared_buffers", "100kB", [/"100kB" rounds to 96kB, below the minimum/]],
  ["shared_buffers", "8TB", [/above the maximum/]],
  ["shared_buffers", "1.3kB", [/rounds to 0kB/]],
  ["wal_buffers", -2, [/-1 to 2097144kB/, /-2 is below the minimum/]],
  ["max_wal_size", "1500kB", [/a bare number is in MB/, /2MB to 2147483647MB/]],
  ["track_activity_query_size", "2MB", [/100B to 1MB/]],
  ["checkpoint_timeout", "25h", [/1d/, /"25h" is above the maximum/]],
  ["statement_timeout", "forever", [/a duration such as "1s"/, /unit us, ms, s, min, h or d/]],
  ["statement_timeout", "25d", [/0ms to 2147483647ms/, /exceeds the integer range/]],
  ["statement_timeout", "1m", [/a duration/]],
  ["statement_timeout", "1hr", [/a duration/]],
  ["statement_timeout", -1, [/-1 is below the minimum/]],
  ["checkpoint_timeout", "29s", [/30s to 1d/]],
  ["checkpoint_timeout", "1.5d", [/"1.5d" is 36h, above the maximum/]],
  ["authentication_timeout", "20min", [/a bare number is in s; 1s to 10min/]],
  ["log_rotation_age", "forever", [/a bare number is in min/]],
  ["max_connections", 0.4, [/an integer from 1 to 262121/, /0.4 rounds to 0, below the minimum/]],
  ["max_connections", 262122, [/PostgreSQL's limit is 262143/]],
  ["max_connections", "100kB", [/an integer from 1/]],
  ["max_stack_depth", "64MB", [/100kB to 7680kB/, /must not exceed 7680kB/]],
  ["effective_io_concurrency", 1001, [/an integer from 0 to 1000/]],
  ["random_page_cost", "-0.5", [/a number of at least 0/, /below the minimum/]],
  ["random_page_cost", 1e-7, [/exponent/, /"1e-7"/]],
  ["random_page_cost", "inf", [/"inf" is above the maximum/]],
  ["random_page_cost", "nan", [/a number of at least 0/]],
  ["random_page_cost", "1e309", [/a number/]],
  ["random_page_cost", "1e-310", [/a number/]],
  ["random_page_cost", "4ms", [/a number/]],
  ["cursor_tuple_fraction", "1.0001", [/a number from 0 to 1/]],
  ["geqo_selection_bias", "1.49", [/a number from 1.5 to 2/]],
  ["vacuum_cost_delay", "0.11s", [/a duration/, /0ms to 100ms/, /is 110ms, above the maximum/]],
  ["vacuum_cost_delay", "1 min", [/above the maximum/]],
  ["jit", "o", [/expected on, off, true, false, yes, no, 1 or 0/]],
  ["jit", "truex", [/expected on, off/]],
  ["jit", "nope", [/expected on, off/]],
  ["jit", 2, [/expected on, off/]],
  ["jit", "10", [/expected on, off/]],
  ["jit", "", [/expected on, off/]],
  ["jit", " on", [/expected on, off/]],
  ["bonjour", true, [/refuses on here: Bonjour is not supported by this build/]],
  ["wal_compression", "brotli", [/expected one of pglz, lz4, zstd, on, off/]],
  ["log_statement", "everything", [/expected one of none, ddl, mod, all \(any case\)/]],
  ["log_statement", true, [/expected one of none, ddl, mod, all/]],
  ["default_transaction_isolation", "repeatable_read", [/serializable, repeatable read/]],
  ["wal_level", "minimal ", [/expected one of minimal, replica, logical/]],
  ["block_size", 8192, [/"block_size" is fixed when PostgreSQL is built/, /cannot be set/]],
  ["server_version", "15", [/cannot be set/]],
];

describe("parameter values, as PostgreSQL 15 parses them", () => {
  test.each(ACCEPTED)("%s = %j is accepted as %s", (name, value, setting) => {
    expect(parameterVerdict(name, value)).toEqual({ accepted: true, setting });
    expect(parameterValueProblem(name, value)).toBeUndefined();
  });

  test.each(REFUSED)("%s = %j is refused", (name, value, patterns) => {
    const problem = parameterValueProblem(name, value);
    expect(problem).toBeDefined();
    expect(
      problem?.startsWith(`parameters.${name}: ${JSON.stringify(value)} is not allowed; `),
    ).toBe(true);
    for (const pattern of patterns) expect(problem).toMatch(pattern);
  });

  test("the message for a bad amount of memory says what is allowed", () => {
    expect(parameterValueProblem("work_mem", "lots")).toBe(
      'parameters.work_mem: "lots" is not allowed; expected an amount of memory such as "4MB" ' +
        "(unit B, kB, MB, GB or TB; a bare number is in kB; 64kB to 2147483647kB)",
    );
  });
});

describe("C behaviour the parser relies on", () => {
  test.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-2.5, -2],
    [2.4999, 2],
    [2.5001, 3],
    [-0.6, -1],
    [7, 7],
  ])("rint(%p) = %p", (x, expected) => {
    expect(rint(x)).toBe(expected);
  });

  test.each([
    [1.1, "1.1"],
    [1e-7, "1e-07"],
    [0.0001, "0.0001"],
    [123456, "123456"],
    [1234567, "1.23457e+06"],
    [100, "100"],
    [Number.MAX_VALUE, "1.79769e+308"],
    [-1, "-1"],
    [Infinity, "inf"],
  ])("%%g of %p is %s", (x, expected) => {
    expect(formatG(x)).toBe(expected);
  });
});

describe("the PostgreSQL 15 parameter data", () => {
  test("has every pg_settings row, typed, with its context for parameterContext", () => {
    expect(parameterContext("shared_buffers")).toBe("postmaster");
    expect(parameterContext("work_mem")).toBe("user");
    expect(parameterContext("block_size")).toBe("internal");
    expect(parameterContext("shared_bufers")).toBeUndefined();
    expect(parameterSpec("shared_buffers")).toMatchObject({
      vartype: "integer",
      unit: "8kB",
      min: 16,
      max: 1073741823,
    });
    expect(parameterSpec("wal_level")?.enumvals).toEqual(["minimal", "replica", "logical"]);
    expect(parameterSpec("random_page_cost")?.max).toBe(Number.MAX_VALUE);
  });
});

describe("stack config parameters", () => {
  const fromConfig = (values: Record<string, string>) => () =>
    settingsFromStackConfig((key) => values[key], Object.keys(values));

  test("a bad value of a known parameter is named with its key", () => {
    const error = errorOf(fromConfig({ parameters: '{"work_mem":"lots"}' }));
    expect(error.problems).toEqual([
      'parameters.work_mem: "lots" is not allowed; expected an amount of memory such as "4MB" ' +
        "(unit B, kB, MB, GB or TB; a bare number is in kB; 64kB to 2147483647kB)",
    ]);
    expect(error.message).toContain("parameters.work_mem");
  });

  test("every problem comes out in one SettingsError", () => {
    const error = errorOf(
      fromConfig({
        standbys: "99",
        parameters: JSON.stringify({
          work_mem: "lots",
          jit: "maybe",
          shared_buffers: "64kB",
          shared_bufers: "1GB",
          wal_level: "logical",
          "pg_stat_statements.max": "lots",
        }),
      }),
    );
    const keys = error.problems.map((problem) => problem.split(":")[0]);
    expect(keys).toEqual([
      "standbys",
      "parameters.work_mem",
      "parameters.jit",
      "parameters.shared_buffers",
      "parameters.shared_bufers",
      "parameters.wal_level",
    ]);
    // A misspelt or managed name is reported for its name only, not its value as well.
    expect(error.problems.filter((p) => p.startsWith("parameters.shared_bufers"))).toHaveLength(1);
    expect(error.problems.find((p) => p.startsWith("parameters.wal_level"))).toMatch(/managed/);
  });

  test("good values pass, as typed by the stack config", () => {
    const settings = resolveSettings({
      parameters: {
        work_mem: "16MB",
        shared_buffers: "160MB",
        max_connections: 200,
        jit: false,
        random_page_cost: 1.1,
        log_min_duration_statement: "250ms",
        synchronous_commit: "remote_apply",
        "auto_explain.log_min_duration": "whatever the extension says",
      },
    });
    expect(settings.parameters.work_mem).toBe("16MB");
  });
});
