/**
 * Does components/parameter-values.ts agree with PostgreSQL 15 itself? Every (name, value) of
 * the corpus below is written into a postgresql.conf exactly as the program writes it
 * (parameterLine) and read by the test image's server with `postgres -C name`, which parses
 * the file, applies every setting and prints the result, or refuses the file and exits
 * non-zero, without starting a server or needing a data directory. The server's verdict and,
 * for numbers and booleans, the value it arrives at must be the validator's.
 *
 * Needs a Docker engine and the test image (`npm run env:setup`). Without them the test is
 * skipped with a printed reason, except under CI=true where it fails.
 */
import { parameterLine } from "../../components/instance-config";
import { parameterSpec, parameterVerdict } from "../../components/parameter-values";
import { ParameterValue } from "../../components/settings";
import { docker, labelArgs, removeByLabel, testImage } from "../support/docker";
import { liveSuiteGate } from "../live/support/faults";

const { describeLive, unavailable } = liveSuiteGate("the parameter value agreement test");

const RUN_ID = `prt-params-${Date.now().toString(36)}-${process.pid}`;
/** Lets afterAll remove exactly this run's container, should `--rm` not get to. */
const RUN_LABEL = `postgres-replication.test-run=${RUN_ID}`;

type Case = readonly [name: string, value: ParameterValue];

/** Accepted and refused values across every vartype, unit kind, range and rounding rule. */
const CORPUS: readonly Case[] = [
  // integer, unit kB
  ["work_mem", "4MB"],
  ["work_mem", "64kB"],
  ["work_mem", "63kB"],
  ["work_mem", "1TB"],
  ["work_mem", "2TB"],
  ["work_mem", "4096"],
  ["work_mem", 4096],
  ["work_mem", 4096.5],
  ["work_mem", "4.5"],
  ["work_mem", "64.5kB"],
  ["work_mem", "65.5kB"],
  ["work_mem", "1.5MB"],
  ["work_mem", ".5MB"],
  ["work_mem", "65535B"],
  ["work_mem", "65023B"],
  ["work_mem", "4 MB"],
  ["work_mem", " 4MB "],
  ["work_mem", "4mb"],
  ["work_mem", "4M"],
  ["work_mem", "4MBs"],
  ["work_mem", "4 M B"],
  ["work_mem", "lots"],
  ["work_mem", ""],
  ["work_mem", "0x1000"],
  ["work_mem", "010000"],
  ["work_mem", "08"],
  ["work_mem", "09.5"],
  ["work_mem", "0x"],
  ["work_mem", "1e3"],
  ["work_mem", "1e3kB"],
  ["work_mem", "1.5e3"],
  ["work_mem", "1e"],
  ["work_mem", "3000000000"],
  ["work_mem", "99999999999999999999"],
  ["work_mem", "-1"],
  ["work_mem", true],
  ["work_mem", 4.4],
  ["work_mem", "2147483648"],
  ["work_mem", "1.5e3kB"],
  ["authentication_timeout", "20min"],
  ["checkpoint_timeout", "25h"],
  ["jit", "tru"],
  // integer, unit 8kB (blocks)
  ["shared_buffers", "128MB"],
  ["shared_buffers", "128kB"],
  ["shared_buffers", "127kB"],
  ["shared_buffers", "120kB"],
  ["shared_buffers", "131072B"],
  ["shared_buffers", 16],
  ["shared_buffers", "15"],
  ["shared_buffers", "0.5GB"],
  ["shared_buffers", "8TB"],
  ["shared_buffers", "1.3kB"],
  ["wal_buffers", "-1"],
  ["wal_buffers", "-2"],
  ["wal_buffers", "16MB"],
  ["effective_cache_size", "4GB"],
  // integer, unit MB and B
  ["max_wal_size", "1GB"],
  ["max_wal_size", 2],
  ["max_wal_size", "1"],
  ["max_wal_size", "1.5GB"],
  ["max_wal_size", "1536kB"],
  ["max_wal_size", "2500kB"],
  ["max_wal_size", "1500kB"],
  ["track_activity_query_size", "1kB"],
  ["track_activity_query_size", "100"],
  ["track_activity_query_size", "99"],
  ["track_activity_query_size", "1MB"],
  ["track_activity_query_size", "2MB"],
  ["track_activity_query_size", "0.5kB"],
  // integer, unit ms, s and min
  ["statement_timeout", "0"],
  ["statement_timeout", "1.5min"],
  ["statement_timeout", "100us"],
  ["statement_timeout", "500us"],
  ["statement_timeout", "1500us"],
  ["statement_timeout", "2500us"],
  ["statement_timeout", "24d"],
  ["statement_timeout", "25d"],
  ["statement_timeout", "1 h"],
  ["statement_timeout", "1m"],
  ["statement_timeout", "1hr"],
  ["statement_timeout", "1 s "],
  ["statement_timeout", -1],
  ["statement_timeout", "forever"],
  ["checkpoint_timeout", "5min"],
  ["checkpoint_timeout", "30s"],
  ["checkpoint_timeout", "29s"],
  ["checkpoint_timeout", "29.5s"],
  ["checkpoint_timeout", "30500ms"],
  ["checkpoint_timeout", "1d"],
  ["checkpoint_timeout", "1.5d"],
  ["checkpoint_timeout", "86400001ms"],
  ["log_rotation_age", "30s"],
  ["log_rotation_age", "90s"],
  ["log_rotation_age", "1d"],
  ["log_rotation_age", "1.5h"],
  // integer without a unit; limits a check hook sets
  ["max_connections", 200],
  ["max_connections", "200"],
  ["max_connections", 0.4],
  ["max_connections", "100kB"],
  ["max_connections", "1e2"],
  ["max_connections", "0x64"],
  ["max_connections", "1.5e2"],
  ["max_connections", "100.5"],
  ["max_connections", "101.5"],
  ["max_connections", 262121],
  ["max_connections", 262122],
  ["effective_io_concurrency", 1000],
  ["effective_io_concurrency", 1001],
  ["max_stack_depth", "2MB"],
  ["max_stack_depth", "7680kB"],
  ["max_stack_depth", "7681kB"],
  ["max_stack_depth", "64MB"],
  // real
  ["random_page_cost", "1.1"],
  ["random_page_cost", 1.1],
  ["random_page_cost", 0],
  ["random_page_cost", "-0.5"],
  ["random_page_cost", "1e3"],
  ["random_page_cost", "1e-7"],
  ["random_page_cost", 1e-7],
  ["random_page_cost", "inf"],
  ["random_page_cost", "nan"],
  ["random_page_cost", "1e309"],
  ["random_page_cost", "1e-310"],
  ["random_page_cost", "0x1p-3"],
  ["random_page_cost", "4 "],
  ["random_page_cost", "4x"],
  ["random_page_cost", "4ms"],
  ["random_page_cost", "1.7976931348623157e308"],
  ["random_page_cost", ".5"],
  ["random_page_cost", "5."],
  ["cursor_tuple_fraction", "1"],
  ["cursor_tuple_fraction", "1.0001"],
  ["cursor_tuple_fraction", 0.5],
  ["geqo_selection_bias", "1.5"],
  ["geqo_selection_bias", "1.49"],
  ["vacuum_cost_delay", "1500us"],
  ["vacuum_cost_delay", "0.1s"],
  ["vacuum_cost_delay", "0.11s"],
  ["vacuum_cost_delay", 2],
  ["vacuum_cost_delay", "2.5ms"],
  ["vacuum_cost_delay", "1 min"],
  ["autovacuum_vacuum_cost_delay", "-1"],
  // bool
  ["jit", true],
  ["jit", false],
  ["jit", "on"],
  ["jit", "OFF"],
  ["jit", "Of"],
  ["jit", "o"],
  ["jit", "t"],
  ["jit", "tr"],
  ["jit", "TRUE"],
  ["jit", "truex"],
  ["jit", "y"],
  ["jit", "ye"],
  ["jit", "n"],
  ["jit", "nope"],
  ["jit", "fals"],
  ["jit", "1"],
  ["jit", 0],
  ["jit", 2],
  ["jit", "10"],
  ["jit", ""],
  ["jit", " on"],
  ["jit", "on "],
  ["bonjour", true],
  ["bonjour", false],
  // enum, listed and hidden spellings
  ["wal_compression", "lz4"],
  ["wal_compression", "LZ4"],
  ["wal_compression", "on"],
  ["wal_compression", "true"],
  ["wal_compression", 1],
  ["wal_compression", "brotli"],
  ["log_statement", "all"],
  ["log_statement", "ALL"],
  ["log_statement", "everything"],
  ["log_statement", true],
  ["synchronous_commit", "remote_apply"],
  ["synchronous_commit", "yes"],
  ["synchronous_commit", false],
  ["log_min_messages", "debug"],
  ["log_min_messages", "Info"],
  ["client_min_messages", "info"],
  ["default_transaction_isolation", "repeatable read"],
  ["default_transaction_isolation", "Repeatable Read"],
  ["default_transaction_isolation", "repeatable_read"],
  ["huge_pages", "try"],
  ["huge_pages", "maybe"],
  ["wal_level", "hot_standby"],
  ["wal_level", "archive"],
  ["wal_level", "minimal "],
  // string
  ["application_name", "it's a test"],
  ["application_name", "back\\slash"],
  ["search_path", '"$user", public'],
  ["application_name", 42],
  // internal: fixed when built or initialised
  ["block_size", 8192],
  ["server_version", "15"],
];

/**
 * A sweep of amounts and units over one parameter of each base unit: fractions that round
 * either way (ties go to even), every unit of the family and some that are not units.
 */
const SWEEP: readonly Case[] = (() => {
  const amounts = ["0", "0.3", "0.5", "1", "1.5", "2.5", "7.77", "16", "100.5", "1023.5", "-1"];
  const memory = ["", "B", "kB", "MB", "GB", "TB", "kb", "K"];
  const time = ["", "us", "ms", "s", "min", "h", "d", "m", "sec"];
  const parameters: readonly (readonly [string, readonly string[]])[] = [
    ["work_mem", memory],
    ["shared_buffers", memory],
    ["max_wal_size", memory],
    ["track_activity_query_size", memory],
    ["statement_timeout", time],
    ["checkpoint_timeout", time],
    ["log_rotation_age", time],
    ["vacuum_cost_delay", time],
    ["random_page_cost", ["", "kB", "ms"]],
    ["max_connections", ["", "kB"]],
  ];
  return parameters.flatMap(([name, units]) =>
    amounts.flatMap((amount) => units.map((unit): Case => [name, `${amount}${unit}`])),
  );
})();

/** One `postgres -C` answer. */
interface ServerVerdict {
  readonly accepted: boolean;
  readonly setting: string;
  readonly message: string;
}

// Each case gets a fresh postgresql.conf holding its one line; the answers come back one per
// line, base64-encoded so that any output survives the tab-separated protocol.
const PROBE_SCRIPT = String.raw`
set -u
dir=$(mktemp -d)
mkdir -m 700 "$dir/d"
while IFS=$'\t' read -r name line; do
  printf '%s\n' "$(printf '%s' "$line" | base64 -d)" >"$dir/d/postgresql.conf"
  if out=$(postgres -D "$dir/d" -C "$name" 2>"$dir/err"); then rc=0; else rc=$?; fi
  msg=$(grep -v -e 'skipping missing configuration file' -e 'contains errors' "$dir/err" |
    sed -E 's/^.*(LOG|DETAIL|HINT|FATAL):  //' | paste -s -d ' ')
  printf '%s\t%s\t%s\n' "$rc" "$(printf '%s' "$out" | base64 -w0)" "$(printf '%s' "$msg" | base64 -w0)"
done
rm -rf "$dir"
`;

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString("utf8");

async function askPostgres(cases: readonly Case[]): Promise<ServerVerdict[]> {
  const input = cases
    .map(([name, value]) => `${name}\t${b64(parameterLine(name, value))}\n`)
    .join("");
  const { stdout } = await docker(
    [
      "run",
      "--rm",
      "-i",
      "--name",
      RUN_ID,
      ...labelArgs([RUN_LABEL]),
      "--network",
      "none",
      "--user",
      "postgres",
      "--entrypoint",
      "bash",
      testImage(),
      "-c",
      PROBE_SCRIPT,
    ],
    { input, timeoutMs: 180_000 },
  );
  const lines = stdout.split("\n").filter((line) => line.length > 0);
  if (lines.length !== cases.length) {
    throw new Error(`expected ${cases.length} answers from postgres -C, got ${lines.length}`);
  }
  return lines.map((line) => {
    const [rc, out, message] = line.split("\t");
    return {
      accepted: rc === "0",
      setting: unb64(out ?? "").trim(),
      message: unb64(message ?? ""),
    };
  });
}

describeLive("parameter values: the validator agrees with PostgreSQL 15", () => {
  jest.setTimeout(240_000);

  afterAll(async () => {
    if (unavailable) return;
    await removeByLabel(RUN_LABEL);
  });

  const cases = [...CORPUS, ...SWEEP];

  test("the corpus covers every vartype, unit kind and both verdicts", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    const vartypes = new Set(CORPUS.map(([name]) => parameterSpec(name)?.vartype));
    expect([...vartypes].sort()).toEqual(["bool", "enum", "integer", "real", "string"]);
    const units = new Set(CORPUS.map(([name]) => parameterSpec(name)?.unit ?? "none"));
    for (const unit of ["B", "kB", "8kB", "MB", "ms", "s", "min", "none"]) {
      expect(units).toContain(unit);
    }
    const verdicts = CORPUS.map(([name, value]) => parameterVerdict(name, value).accepted);
    expect(verdicts.filter((accepted) => accepted).length).toBeGreaterThan(40);
    expect(verdicts.filter((accepted) => !accepted).length).toBeGreaterThan(40);
  });

  test("every verdict, and every number and boolean the server arrives at, matches", async () => {
    if (unavailable) {
      throw new Error(`Docker or the test image is unavailable under CI=true: ${unavailable}`);
    }
    const answers = await askPostgres(cases);
    const disagreements: string[] = [];
    cases.forEach(([name, value], i) => {
      const server = answers[i];
      const ours = parameterVerdict(name, value);
      const shown = `${name} = ${JSON.stringify(value)}`;
      if (ours.accepted !== server.accepted) {
        disagreements.push(
          `${shown}: validator ${ours.accepted ? "accepts" : `refuses (${ours.problem})`}, ` +
            `PostgreSQL ${server.accepted ? `accepts (${server.setting})` : `refuses (${server.message})`}`,
        );
        return;
      }
      const vartype = parameterSpec(name)?.vartype;
      const comparable = vartype === "integer" || vartype === "real" || vartype === "bool";
      if (ours.accepted && comparable && ours.setting !== server.setting) {
        disagreements.push(
          `${shown}: validator arrives at ${ours.setting}, PostgreSQL at ${server.setting}`,
        );
      }
    });
    const agreed = cases.length - disagreements.length;
    process.stdout.write(
      `parameter values: ${agreed} of ${cases.length} cases (${CORPUS.length} chosen, ` +
        `${SWEEP.length} swept) agree with PostgreSQL ` +
        `(${answers.filter((a) => a.accepted).length} accepted, ` +
        `${answers.filter((a) => !a.accepted).length} refused by the server)\n`,
    );
    expect(disagreements).toEqual([]);
  });
});
