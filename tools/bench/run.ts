/**
 * `npm run bench [-- --quick] [--out DIR] [--only provisioning,clone,outage,lag,automatic]`
 *
 * Measures the replica set with the live harness against real Docker and PostgreSQL, prints
 * the result tables and writes REPORT.md, SVG charts and results.json (raw figures) under
 * bench/results/ (bench/results/quick/ with --quick). Clusters are named prb-*, use host ports
 * 16000-16199, and are removed by label before and after each measurement.
 */
import * as fs from "fs";
import * as path from "path";
import { removeLeftovers } from "../../tests/live/support/cluster";
import { dockerUnavailableReason, testImage } from "../../tests/support/docker";
import { reportCharts } from "./charts";
import { measureCloneBySize } from "./clone-size";
import { BenchContext, describeError, liveClusters } from "./cluster";
import { measureAutomatic } from "./automatic";
import { measureLag } from "./lag";
import { machineInfo } from "./machine";
import { measureOutage } from "./outage";
import { measureProvisioning } from "./provisioning";
import { renderReport, resultTables } from "./report";
import { barChartSvg } from "./svg";
import {
  ArchiveLagRun,
  BenchPlan,
  BenchResults,
  CloneRun,
  OutageRun,
  ProvisioningResult,
  ProvisioningRun,
  SECTIONS,
  Section,
} from "./types";

interface Args {
  readonly quick: boolean;
  /** Re-render REPORT.md and the charts from <out>/results.json without measuring. */
  readonly renderOnly: boolean;
  readonly out: string;
  readonly only: readonly Section[];
}

const REPO_ROOT = path.resolve(__dirname, "../..");
const USAGE = "usage: npm run bench [-- [--quick] [--out DIR] [--only " + SECTIONS.join(",") + "]]";

function isSection(s: string): s is Section {
  return (SECTIONS as readonly string[]).includes(s);
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let renderOnly = false;
  let out: string | undefined;
  let only: Section[] = [...SECTIONS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--quick") quick = true;
    else if (a === "--render-only") renderOnly = true;
    else if (a === "--out") out = value();
    else if (a === "--only") {
      const list = value().split(",");
      const bad = list.filter((s) => !isSection(s));
      if (bad.length > 0) throw new Error(`unknown section(s) ${bad.join(", ")}\n${USAGE}`);
      only = list.filter(isSection);
    } else if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE + "\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  const defaultOut = path.join(REPO_ROOT, "bench/results", quick ? "quick" : "");
  return { quick, renderOnly, out: path.resolve(out ?? defaultOut), only };
}

export function planFor(quick: boolean): BenchPlan {
  return quick
    ? {
        quick,
        standbyCounts: [0, 1, 3, 5],
        provisioningRepetitions: 1,
        goalRepetitions: 1,
        serialBuildTo: 3,
        scales: [5, 20],
        archiveLagSeconds: 10,
        outageRuns: 1,
        lagSeconds: 10,
        lagStandbys: 2,
        lagScale: 5,
        automaticRuns: 2,
      }
    : {
        quick,
        standbyCounts: [0, 1, 3, 5],
        provisioningRepetitions: 2,
        goalRepetitions: 3,
        serialBuildTo: 5,
        scales: [10, 50, 100],
        archiveLagSeconds: 30,
        outageRuns: 3,
        lagSeconds: 30,
        lagStandbys: 2,
        lagScale: 10,
        automaticRuns: 5,
      };
}

/**
 * Host port blocks: provisioning 16000-16099 (20 per cluster), then one block each; the
 * tutorial by hand takes 16190-16191.
 */
const PORTS = {
  provisioning: 16000,
  clone: 16100,
  outage: 16120,
  lag: 16150,
  automatic: 16170,
  byHand: 16190,
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.renderOnly) {
    const file = path.join(args.out, "results.json");
    const results = upgradeResults(JSON.parse(fs.readFileSync(file, "utf8")) as OldResults);
    writeReport(results, args.out, (line) => process.stdout.write(line + "\n"));
    return;
  }
  const image = testImage();
  const unavailable = dockerUnavailableReason(image);
  if (unavailable) throw new Error(`cannot benchmark: ${unavailable}`);
  fs.mkdirSync(args.out, { recursive: true });
  const harnessLogFile = path.join(args.out, "harness.log");
  fs.writeFileSync(harnessLogFile, "");
  const note = (line: string) => process.stdout.write(line + "\n");
  const ctx: BenchContext = {
    image,
    harnessLog: (text) => fs.appendFileSync(harnessLogFile, text),
    note,
  };
  installInterruptCleanup(note);

  const plan = planFor(args.quick);
  const started = new Date();
  const t0 = performance.now();
  const machine = await machineInfo(image);
  note(
    `bench (${args.quick ? "quick" : "full"}): ${args.only.join(", ")}; harness output in ` +
      path.relative(process.cwd(), harnessLogFile),
  );
  const errors: string[] = [];
  const attempt = async <T>(section: Section, body: () => Promise<T>): Promise<T | undefined> => {
    if (!args.only.includes(section)) return undefined;
    note(`${section} …`);
    const s0 = performance.now();
    try {
      return await body();
    } catch (e) {
      const message = `${section}: ${describeError(e)}`;
      errors.push(message);
      note(`  FAILED ${message}`);
      return undefined;
    } finally {
      note(`  (${((performance.now() - s0) / 1000).toFixed(0)} s)`);
    }
  };

  const provisioning = await attempt("provisioning", () =>
    measureProvisioning(ctx, {
      standbyCounts: plan.standbyCounts,
      repetitions: plan.provisioningRepetitions,
      goalRepetitions: plan.goalRepetitions,
      serialBuildTo: plan.serialBuildTo,
      firstPort: PORTS.provisioning,
      handPort: PORTS.byHand,
    }),
  );
  const clone: CloneRun[] = [];
  const archive: { run?: ArchiveLagRun } = {};
  await attempt("clone", () =>
    measureCloneBySize(
      ctx,
      { scales: plan.scales, port: PORTS.clone, archiveLagSeconds: plan.archiveLagSeconds },
      clone,
      archive,
    ),
  );
  const outage: OutageRun[] = [];
  await attempt("outage", () =>
    measureOutage(
      ctx,
      { runs: plan.outageRuns, port: PORTS.outage, settleMs: 2000 },
      outage,
      errors,
    ),
  );
  const lag = await attempt("lag", () =>
    measureLag(ctx, {
      standbys: plan.lagStandbys,
      scale: plan.lagScale,
      seconds: plan.lagSeconds,
      port: PORTS.lag,
      intervalMs: 200,
    }),
  );
  const automatic = await attempt("automatic", () =>
    measureAutomatic(ctx, { runs: plan.automaticRuns, port: PORTS.automatic }),
  );

  const measured: BenchResults = {
    plan,
    machine,
    startedAt: started.toISOString(),
    durationSeconds: (performance.now() - t0) / 1000,
    provisioning,
    clone: args.only.includes("clone") ? clone : undefined,
    archive: archive.run,
    outage: args.only.includes("outage") ? outage : undefined,
    lag,
    automatic,
    errors,
  };
  const results = withPreviousSections(measured, args.only, args.out);
  fs.writeFileSync(path.join(args.out, "results.json"), JSON.stringify(results, null, 2) + "\n");
  writeReport(results, args.out, note);
  if (errors.length > 0) process.exitCode = 1;
}

/**
 * With --only, the sections not measured come from the results.json already in the output
 * directory (if any), marked as carried over, so the report stays whole.
 */
function withPreviousSections(
  r: BenchResults,
  only: readonly Section[],
  out: string,
): BenchResults {
  const file = path.join(out, "results.json");
  const missing = SECTIONS.filter((s) => !only.includes(s));
  if (missing.length === 0 || !fs.existsSync(file)) return r;
  const previous = upgradeResults(JSON.parse(fs.readFileSync(file, "utf8")) as OldResults);
  const kept = missing.filter((s) => previous[s] !== undefined);
  if (kept.length === 0) return r;
  const measuredAt = (section: Section) =>
    previous.carriedOver?.find((c) => c.section === section)?.startedAt ?? previous.startedAt;
  return {
    ...r,
    ...Object.fromEntries(kept.map((s) => [s, previous[s]])),
    ...(kept.includes("clone") ? { archive: previous.archive } : {}),
    carriedOver: kept.map((section) => ({ section, startedAt: measuredAt(section) })),
  };
}

/** results.json as older runs wrote it: clone durations named after the `-join` command. */
type OldResults = Omit<BenchResults, "clone" | "provisioning" | "carriedOver"> & {
  /** One start for every carried-over section, before each section kept its own. */
  carriedOver?:
    | BenchResults["carriedOver"]
    | { readonly startedAt: string; readonly sections: readonly string[] };
  clone?: (Omit<CloneRun, "cloneSeconds"> & { cloneSeconds?: number; joinSeconds?: number })[];
  provisioning?: Omit<ProvisioningResult, "runs"> & {
    runs: (Omit<ProvisioningRun, "cloneSeconds"> & {
      cloneSeconds?: number[];
      joinSeconds?: number[];
    })[];
  };
};

function upgradeResults(old: OldResults): BenchResults {
  const clone = old.clone?.map(({ joinSeconds, ...c }) => ({
    ...c,
    cloneSeconds: c.cloneSeconds ?? joinSeconds ?? NaN,
  }));
  const provisioning = old.provisioning && {
    ...old.provisioning,
    runs: old.provisioning.runs.map(({ joinSeconds, ...run }) => ({
      ...run,
      cloneSeconds: run.cloneSeconds ?? joinSeconds ?? [],
      resources: run.resources ?? [],
    })),
  };
  const carried = old.carriedOver;
  const carriedOver =
    carried && "sections" in carried
      ? carried.sections.map((section) => ({ section, startedAt: carried.startedAt }))
      : carried;
  return { ...old, clone, provisioning, carriedOver };
}

function writeReport(results: BenchResults, out: string, note: (line: string) => void): void {
  const charts = reportCharts(results);
  for (const c of charts) fs.writeFileSync(path.join(out, c.file), barChartSvg(c.chart));
  fs.writeFileSync(path.join(out, "REPORT.md"), renderReport(results, charts));
  note("");
  note(resultTables(results));
  note(`report: ${path.relative(process.cwd(), path.join(out, "REPORT.md"))}`);
}

/** On Ctrl-C or SIGTERM: remove the clusters that exist, then exit. */
function installInterruptCleanup(note: (line: string) => void): void {
  let cleaning = false;
  const handler = (signal: NodeJS.Signals) => {
    if (cleaning) return;
    cleaning = true;
    note(`\n${signal}: removing ${[...liveClusters].join(", ") || "nothing"}`);
    Promise.allSettled([...liveClusters].map((name) => removeLeftovers(name))).finally(() =>
      process.exit(130),
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
