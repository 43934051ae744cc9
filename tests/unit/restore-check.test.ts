/**
 * The check a restore passes before anything of the new cluster is created
 * (components/scripts/restore-check.sh), run as the command provider runs it (bash, previous
 * output in PULUMI_COMMAND_STDOUT) against a stand-in `docker` that answers from environment
 * variables: which volumes exist, which hold data, what `pgbackrest info` prints.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { scriptText } from "../../components/scripts";

const FAKE_DOCKER = `#!/bin/bash
echo "$*" >> "$FAKE_CALLS"
case "$1" in
  volume)
    case "$2" in
      ls) printf '%s\\n' $FAKE_VOLUMES ;;
      inspect) [[ " $FAKE_VOLUMES " == *" $3 "* ]] ;;
    esac ;;
  run)
    if [[ "$*" == *restore-source* ]]; then
      printf '%s\\n%s\\n' "$FAKE_INFO" "$FAKE_LAST_WAL"
    else
      printf '%s\\n' $FAKE_HOLDING
    fi ;;
esac
`;

/** pgBackRest 2.45's `info --output=json` shape, trimmed to what the check reads. */
function info(stops: number[], code = 0, message = "ok"): string {
  const backups = stops.map((stop, i) => ({
    archive: { start: "000000010000000000000002", stop: "000000010000000000000002" },
    label: `20261127-20000${i}F`,
    timestamp: { start: stop - 5, stop },
    type: "full",
  }));
  return JSON.stringify([
    {
      archive: [{ id: "15-1", max: "000000010000000000000005", min: "000000010000000000000001" }],
      backup: backups,
      name: "prod",
      repo: [{ cipher: "none", key: 1, status: { code: 0, message: "ok" } }],
      status: { code, lock: { backup: { held: false } }, message },
    },
  ]);
}

const T = Date.UTC(2026, 10, 27, 20, 15) / 1000;

describe("restore check", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "restore-check-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function check(env: Record<string, string>) {
    const r = spawnSync("bash", ["-c", scriptText("restore-check")], {
      env: {
        ...process.env,
        PATH: `${dir}:${process.env.PATH}`,
        FAKE_CALLS: path.join(dir, "calls"),
        FAKE_VOLUMES: "prod-backup",
        FAKE_HOLDING: "",
        FAKE_INFO: info([T - 3600]),
        FAKE_LAST_WAL: `${T + 600}.5`,
        PULUMI_COMMAND_STDOUT: "",
        CLUSTER: "copy",
        IMAGE: "sha256:engine",
        SOURCE_VOLUME: "prod-backup",
        RESTORE_FROM: "prod",
        RESTORE_TARGET: "2026-11-27 20:15:00+00",
        TARGET_EPOCH_MS: String(T * 1000),
        ...env,
      },
      encoding: "utf8",
    });
    const calls = fs.existsSync(path.join(dir, "calls"))
      ? fs.readFileSync(path.join(dir, "calls"), "utf8")
      : "";
    const err = r.stderr
      .split("\n")
      .filter((line) => line.startsWith("error: "))
      .join("\n");
    return { status: r.status, out: r.stdout.trim(), err, calls };
  }

  test("a target between the first backup and the last archived WAL passes and says what it found", () => {
    const r = check({});
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    expect(r.out).toBe(
      "restore prod from prod-backup to 2026-11-27 20:15:00+00: 1 backups, the first ended at " +
        "2026-11-27 19:15:00+00, WAL archived until 2026-11-27 20:25:00+00",
    );
  });

  test("the same restore, checked before, passes again without looking (a new image)", () => {
    const previous =
      "restore prod from prod-backup to latest: 1 backups, the first ended at x, WAL archived until y";
    const r = check({
      RESTORE_TARGET: "latest",
      TARGET_EPOCH_MS: "",
      PULUMI_COMMAND_STDOUT: previous,
    });
    expect(r).toEqual({ status: 0, out: previous, err: "", calls: "" });
  });

  test("another restore into a cluster with data is refused, naming the volumes", () => {
    const r = check({
      FAKE_VOLUMES: "prod-backup copy-1-data copy-2-data copy-backup copy-1-config",
      FAKE_HOLDING: "copy-1-data copy-backup",
      PULUMI_COMMAND_STDOUT: "restore prod from prod-backup to latest: 1 backups",
    });
    expect(r.status).toBe(1);
    expect(r.err).toMatch(
      /^error: restore: cluster copy already has data \(volumes: copy-1-data copy-backup\); a restore only creates a new cluster/,
    );
    // Only the cluster's data and repository volumes are looked into.
    expect(r.calls).toMatch(/-v copy-1-data:\/volumes\/copy-1-data:ro -v copy-2-data:/);
    expect(r.calls).not.toContain("copy-1-config:");
  });

  test("a missing source repository is refused before it is mounted (which would create it)", () => {
    const r = check({ FAKE_VOLUMES: "" });
    expect(r.status).toBe(1);
    expect(r.err).toBe(
      "error: restore.fromCluster: there is no repository volume prod-backup (cluster prod's backups); see docker volume ls",
    );
    expect(r.calls).not.toContain("restore-source");
  });

  test("a repository without a backup is refused, with pgBackRest's words", () => {
    const r = check({ FAKE_INFO: info([], 2, "no valid backups") });
    expect(r.status).toBe(1);
    expect(r.err).toMatch(
      /^error: restore\.fromCluster: the repository volume prod-backup holds no usable backup of prod \(pgBackRest: no valid backups\)/,
    );
  });

  test("a target before the end of the first backup is refused, naming the earliest", () => {
    const r = check({ FAKE_INFO: info([T + 60, T + 7200]) });
    expect(r.status).toBe(1);
    expect(r.err).toBe(
      "error: restore.target: 2026-11-27 20:15:00+00 is before the end of prod's first backup " +
        "(2026-11-27 20:16:00+00); choose a target from then on, or latest",
    );
  });

  test("a target after the last archived WAL is refused", () => {
    const r = check({ FAKE_LAST_WAL: `${T - 1}.25` });
    expect(r.status).toBe(1);
    expect(r.err).toBe(
      "error: restore.target: 2026-11-27 20:15:00+00 is after the last WAL prod archived " +
        "(at 2026-11-27 20:14:59+00); choose an earlier target, or latest",
    );
  });

  test("latest needs a backup only", () => {
    const r = check({ RESTORE_TARGET: "latest", TARGET_EPOCH_MS: "", FAKE_LAST_WAL: "" });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^restore prod from prod-backup to latest: 1 backups/);
  });
});
