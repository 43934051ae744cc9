import {
  DEFAULT_BACKUP,
  backupProblems,
  cronScheduleProblem,
  isRestoreTarget,
  normaliseBackup,
  restoreProblems,
  restoreTargetTime,
} from "../../components/backup-settings";
import { renderPgbackrestConf } from "../../components/backup";
import { resolveSettings } from "../../components/settings";
import { settingsFromStackConfig } from "../../components/stack-config";
import { errorOf } from "./support/settings-error";

const fromConfig = (values: Record<string, string>) =>
  settingsFromStackConfig((key) => values[key], Object.keys(values));

describe("backup settings", () => {
  test("defaults: on, daily at 03:00, two full backups kept, repository kept on destroy", () => {
    expect(fromConfig({}).backup).toEqual({
      enabled: true,
      schedule: "0 3 * * *",
      retentionFull: 2,
      keepOnDestroy: true,
    });
    expect(fromConfig({}).restore).toBeUndefined();
  });

  test("a partial object keeps the other defaults; values come from the stack's JSON text", () => {
    const settings = fromConfig({ backup: '{"retentionFull":4,"keepOnDestroy":false}' });
    expect(settings.backup).toEqual({ ...DEFAULT_BACKUP, retentionFull: 4, keepOnDestroy: false });
  });

  test("walArchive: false turns backups off by default, and refuses them when asked for", () => {
    expect(fromConfig({ walArchive: "false" }).backup.enabled).toBe(false);
    const error = errorOf(() => fromConfig({ walArchive: "false", backup: '{"enabled":true}' }));
    expect(error.problems).toEqual([expect.stringMatching(/^backup\.enabled: true .*walArchive/)]);
  });

  test.each([
    ["0 3 * * *"],
    ["*/15 * * * *"],
    ["0 2 * * sun"],
    ["30 1 1,15 jan-jun 1-5"],
    ["@daily"],
    ["@weekly"],
  ])("schedule %s is accepted", (schedule) => {
    expect(cronScheduleProblem(schedule)).toBeUndefined();
  });

  test.each([
    ["0 3 * *", /five fields/],
    ["60 3 * * *", /minute field "60" must be \*, a number from 0 to 59/],
    ["0 24 * * *", /hour field "24"/],
    ["0 3 0 * *", /day of month field "0"/],
    ["0 3 * 13 *", /month field "13"/],
    ["0 3 * * funday", /day of week field "funday"/],
    ["5-1 * * * *", /minute field "5-1"/],
    ["*/0 * * * *", /minute field/],
    ["@often", /five fields/],
    [3, /backup.schedule: 3 is not allowed/],
  ])("schedule %p is refused", (schedule, message) => {
    expect(cronScheduleProblem(schedule)).toMatch(/^backup\.schedule: /);
    expect(cronScheduleProblem(schedule)).toMatch(message);
  });

  test.each([
    [{ retentionFull: 0 }, /^backup\.retentionFull: 0 is not allowed; expected an integer from 1/],
    [{ retentionFull: 1.5 }, /^backup\.retentionFull: 1\.5/],
    [{ enabled: "yes" }, /^backup\.enabled: "yes" is not allowed; expected true or false/],
    [{ keepOnDestroy: 1 }, /^backup\.keepOnDestroy: 1 is not allowed/],
    [
      { shedule: "0 3 * * *" },
      /^backup\.shedule: is not a setting of backup; did you mean backup\.schedule\?/,
    ],
  ])("backup %p is refused with one message naming the key", (given, message) => {
    const problems = backupProblems(normaliseBackup(given, true), true);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  test("backups are on by default in both failover modes, and off without the WAL archive", () => {
    for (const failover of ["manual", "automatic"]) {
      const settings = fromConfig({ failover });
      expect([failover, settings.backup.enabled]).toEqual([failover, true]);
    }
    expect(fromConfig({ failover: "automatic", walArchive: "false" }).backup.enabled).toBe(false);
  });

  test("a backup value that is not an object is refused", () => {
    const error = errorOf(() => fromConfig({ backup: "nightly" }));
    expect(error.problems).toEqual([
      expect.stringMatching(/^backup: "nightly" is not allowed; expected an object/),
    ]);
  });
});

describe("restore settings", () => {
  test.each([
    ["latest"],
    ["2026-11-27 20:15:00+00"],
    ["2026-11-27T20:15:00Z"],
    ["2026-11-27 20:15:00.123456+05:30"],
    ["2026-11-27 20:15-0100"],
  ])("target %s is accepted", (target) => {
    expect(isRestoreTarget(target)).toBe(true);
  });

  test.each([
    ["2026-11-27 20:15:00"],
    ["yesterday"],
    ["2026-02-30 10:00:00+00"],
    ["2026-11-27 25:00:00+00"],
    ["Latest"],
    [""],
    [1764274500],
  ])("target %p is refused: not latest nor a timestamp with time zone", (target) => {
    expect(isRestoreTarget(target)).toBe(false);
    const problems = restoreProblems({ fromCluster: "prod", target }, "copy", DEFAULT_BACKUP);
    expect(problems).toEqual([
      expect.stringMatching(
        /^restore\.target: .* is not allowed; expected "latest" or a timestamp with time zone/,
      ),
    ]);
  });

  test("target defaults to latest", () => {
    const settings = fromConfig({ clusterName: "copy", restore: '{"fromCluster":"prod"}' });
    expect(settings.restore).toEqual({ fromCluster: "prod", target: "latest" });
  });

  test("a restore from the cluster itself, from a bad name, or without backups is refused", () => {
    expect(
      restoreProblems({ fromCluster: "prod", target: "latest" }, "prod", DEFAULT_BACKUP),
    ).toEqual([
      expect.stringMatching(
        /^restore\.fromCluster: "prod" is not allowed; it must be another cluster/,
      ),
    ]);
    expect(
      restoreProblems({ fromCluster: "Prod!", target: "latest" }, "copy", DEFAULT_BACKUP),
    ).toEqual([expect.stringMatching(/^restore\.fromCluster: "Prod!" is not allowed/)]);
    expect(
      restoreProblems({ fromCluster: "prod", target: "latest" }, "copy", {
        ...DEFAULT_BACKUP,
        enabled: false,
      }),
    ).toEqual([expect.stringMatching(/^restore: is not allowed with backup\.enabled: false/)]);
    expect(restoreProblems({ from: "prod" }, "copy", DEFAULT_BACKUP)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^restore\.from: is not a setting of restore/),
      ]),
    );
  });

  test("a bad target stops the component before any resource exists", () => {
    const error = errorOf(() =>
      resolveSettings({ clusterName: "copy", restore: { fromCluster: "prod", target: "noon" } }),
    );
    expect(error.message).toMatch(/restore\.target: "noon" is not allowed/);
  });
});

describe("restore target time", () => {
  test.each([
    ["2026-11-27 20:15:00+00", "2026-11-27 20:15:00+00", "2026-11-27T20:15:00.000Z"],
    ["2026-11-27T20:15:00Z", "2026-11-27 20:15:00+00", "2026-11-27T20:15:00.000Z"],
    ["2026-11-27 20:15-0100", "2026-11-27 21:15:00+00", "2026-11-27T21:15:00.000Z"],
    [
      "2026-11-28 01:45:00.123456+05:30",
      "2026-11-27 20:15:00.123456+00",
      "2026-11-27T20:15:00.123Z",
    ],
    ["2027-01-01 00:30:00+01", "2026-12-31 23:30:00+00", "2026-12-31T23:30:00.000Z"],
  ])("%s is the instant %s in UTC", (target, text, iso) => {
    const time = restoreTargetTime(target);
    expect(time?.text).toBe(text);
    expect(new Date(time!.epochMs).toISOString()).toBe(iso);
  });

  test("latest and values that are not targets have no time", () => {
    expect(restoreTargetTime("latest")).toBeUndefined();
    expect(restoreTargetTime("2026-11-27 20:15:00")).toBeUndefined();
    expect(restoreTargetTime(42)).toBeUndefined();
  });
});

describe("restore refusals and configuration", () => {
  test("a restore under failover: automatic is refused, naming the key", () => {
    expect(
      restoreProblems(
        { fromCluster: "prod", target: "latest" },
        "copy",
        DEFAULT_BACKUP,
        "automatic",
      ),
    ).toEqual([expect.stringMatching(/^restore: is not available with failover: automatic yet/)]);
    const error = errorOf(() =>
      resolveSettings({
        clusterName: "copy",
        failover: "automatic",
        restore: { fromCluster: "prod", target: "latest" },
      }),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/^restore: is not available with failover: automatic yet/),
    ]);
  });

  test("a restored cluster's pgbackrest.conf names the source's stanza at another repository path", () => {
    const copy = resolveSettings({
      clusterName: "copy",
      restore: { fromCluster: "prod", target: "latest" },
    });
    const conf = renderPgbackrestConf(copy);
    expect(conf).toMatch(/^\[copy\]\npg1-path=\/data$/m);
    expect(conf).toMatch(/^\[prod\]\nrepo1-path=\/mnt\/restore-source\npg1-path=\/data$/m);
    expect(conf).toMatch(/^\[global\]\nrepo1-path=\/mnt\/server\/archive$/m);
    const plain = renderPgbackrestConf(resolveSettings({ clusterName: "copy" }));
    expect(plain).not.toMatch(/restore-source|\[prod\]/);
  });
});
