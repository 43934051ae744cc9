import { archiveDelays, segmentEnd } from "../../tools/bench/backup";
import { cloneTimings } from "../../tools/bench/harness-log";
import { carriedOverNote } from "../../tools/bench/report";
import { backupRows } from "../../tools/bench/summary";
import { ArchiveSample, BenchResults, CloneRun } from "../../tools/bench/types";

/** The bench reports decimal megabytes; WAL segments are 16 MiB. */
const MB = 1e6;
const SEGMENT = 16 * 1024 * 1024;

describe("bench: archive lag", () => {
  test("a WAL file name gives the position just past its segment", () => {
    expect(segmentEnd("000000010000000000000001")).toBe(2 * SEGMENT);
    expect(segmentEnd("000000020000000100000000")).toBe(0x100000000 + SEGMENT);
    expect(segmentEnd("")).toBe(-1);
    expect(segmentEnd("000000010000000000000003.00000028.backup")).toBe(-1);
  });

  test("a sample waits for the first later sample whose archived segment holds its position", () => {
    const s = (atMs: number, lsn: number, lastArchived: string): ArchiveSample => ({
      atMs,
      lsn,
      lastArchived,
      waiting: 0,
    });
    const samples = [
      s(0, SEGMENT + 10, "000000010000000000000000"),
      s(250, 2 * SEGMENT + 10, "000000010000000000000000"),
      s(500, 2 * SEGMENT + 20, "000000010000000000000001"),
      s(750, 3 * SEGMENT + 5, "000000010000000000000002"),
    ];
    expect(archiveDelays(samples, samples)).toEqual({ delaysMs: [500, 500, 250], uncovered: 1 });
  });
});

describe("bench: backups against the raw copy", () => {
  test("throughput of what each moved, and its ratio to cp -a + sync of the data directory", () => {
    const run = {
      scale: 10,
      dataDirBytes: 300 * MB,
      cpSeconds: 2,
      syncSeconds: 1,
      backup: {
        label: "x",
        backupSeconds: 4,
        backupBytes: 200 * MB,
        repositoryBytes: 50 * MB,
        restoreSeconds: 3,
        restoreSyncSeconds: 1,
        restoredBytes: 200 * MB,
      },
    } as unknown as CloneRun;
    const [row] = backupRows([run, { ...run, backup: undefined }]);
    expect(row).toMatchObject({ cpMBps: 100, backupMBps: 50, restoreMBps: 50 });
    expect(row.backupRatio).toBeCloseTo(0.5);
    expect(row.restoreRatio).toBeCloseTo(0.5);
    expect(backupRows([{ ...run, backup: undefined }])).toEqual([]);
  });

  test("a standby's clone is timed by its ready command; the primary's is not a clone", () => {
    const t = (name: string, action = "create") => ({ action, type: "Command", name, seconds: 1 });
    const picked = cloneTimings([
      t("prb-1-ready"),
      t("prb-2-ready"),
      t("prb-12-ready"),
      t("prb-3-ready", "same"),
      t("prb-2-join"),
    ]);
    expect(picked.map((x) => x.name)).toEqual(["prb-2-ready", "prb-12-ready"]);
  });
});

describe("bench: sections carried over from earlier runs", () => {
  test("the report names what this run measured and when each kept section was measured", () => {
    const results = {
      startedAt: "2026-11-28T07:00:00Z",
      provisioning: {},
      clone: [],
      automatic: {},
      outage: [],
    } as unknown as BenchResults;
    expect(
      carriedOverNote(results, [
        { section: "clone", startedAt: "2026-11-28T04:21:47Z" },
        { section: "outage", startedAt: "2026-11-25T23:25:10Z" },
      ]),
    ).toBe(
      "This run measured provisioning, automatic; carried over unchanged: clone from the run " +
        "started 2026-11-28T04:21:47Z; outage from the run started 2026-11-25T23:25:10Z.",
    );
  });
});
