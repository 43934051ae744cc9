/**
 * Backups with pgBackRest (live): the WAL archive in the repository, the first full backup
 * after `up`, backup-now, retention, backups that follow a switchover, the repository kept by
 * a destroy. One deployment; figures are printed, not asserted.
 */
import * as fs from "fs";
import * as path from "path";

import { docker, run, testImage } from "../support/docker";
import { LiveDeployment } from "./drivers/live-driver";
import { Cluster, eventually, labelledObjects, removeLeftovers } from "./support/cluster";
import { liveSuiteGate, timed } from "./support/faults";

const { describeLive, unavailable } = liveSuiteGate("the live backup checks");

const NAME = "prk-bk";
const BASE_PORT = 16400;
const BACKUP = `${NAME}-backup`;
const LABEL = /^[0-9]{8}-[0-9]{6}F$/;

async function backupInfo(): Promise<{ label: string; type: string }[]> {
  const { stdout } = await docker([
    "exec",
    "-u",
    "postgres",
    BACKUP,
    "pgbackrest",
    "--config=/config/pgbackrest.conf",
    `--stanza=${NAME}`,
    "--output=json",
    "info",
  ]);
  const [stanza] = JSON.parse(stdout) as { backup: { label: string; type: string }[] }[];
  return stanza.backup.map(({ label, type }) => ({ label, type }));
}

const health = async () =>
  (await docker(["inspect", "-f", "{{.State.Health.Status}}", BACKUP])).stdout.trim();

describeLive("backups with pgBackRest (live harness)", () => {
  const image = testImage();
  jest.setTimeout(6 * 60 * 1000);

  test("archive into the repository, first backup after up, backup-now, retention, switchover, kept on destroy", async () => {
    if (unavailable) throw new Error(`live backup checks cannot run under CI: ${unavailable}`);
    const started = Date.now();
    await removeLeftovers(NAME);
    const deployment = new LiveDeployment({ stack: NAME });
    const config = {
      clusterName: NAME,
      hostPort: BASE_PORT,
      image,
      standbys: 1,
      backup: { schedule: "* * * * *", retentionFull: 2 },
    };
    try {
      const result = await deployment.up(config);
      timed("up", started, "backup");
      const c = new Cluster(NAME, result);
      expect(result.outputs.backupRepository).toBe(BACKUP);
      const volumes = (await docker(["volume", "ls", "-q", "--filter", `name=^${NAME}-`])).stdout;
      expect(volumes.split("\n")).toContain(BACKUP);
      expect(volumes.split("\n")).not.toContain(`${NAME}-wal-archive`);
      for (const n of [1, 2]) {
        expect(await c.sql(n, "show archive_command")).toMatch(
          new RegExp(`^pgbackrest .*--stanza=${NAME} archive-push %p$`),
        );
        expect(await c.sql(n, "show restore_command")).toMatch(/ archive-get %f "%p"$/);
      }
      // The primary's first initialisation created the stanza, so its temporary server never
      // waited out a failing archive_command before it stopped.
      const logs = await docker(["logs", "-t", `${NAME}-1`]);
      const at = (line: string) => Date.parse(line.slice(0, line.indexOf(" ")));
      // The image's entrypoint writes to stdout, PostgreSQL and instance.sh to stderr.
      const lines = `${logs.stdout}\n${logs.stderr}`
        .split("\n")
        .filter((line) => line.trim() !== "")
        .sort((a, b) => at(a) - at(b));
      const complete = lines.findIndex((line) => line.includes("initialisation complete"));
      expect(complete).toBeGreaterThan(0);
      const initialisation = lines.slice(0, complete).join("\n");
      expect(initialisation).toContain(`pgBackRest stanza ${NAME} created`);
      expect(initialisation).not.toContain("archive command failed");

      // The first full backup runs after `up`, in the backup container.
      const firstStarted = Date.now();
      await eventually(async () => (await health()) === "healthy", "no first backup", 120_000);
      timed("first backup seen healthy", firstStarted, "backup");
      const first = await backupInfo();
      // The schedule (every minute here) may have added one already when `up` ran long.
      expect(first.length).toBeGreaterThanOrEqual(1);
      expect(first[0].type).toBe("full");

      // backup-now prints the label of the backup it took.
      const nowStarted = Date.now();
      const now = await docker(["exec", BACKUP, "backup-now"]);
      timed("backup-now", nowStarted, "backup");
      expect(now.stdout.trim()).toMatch(LABEL);
      expect((await backupInfo()).map((b) => b.label)).toContain(now.stdout.trim());

      // Nothing in the repository is open to other users; everything is the postgres user's.
      const open = await docker([
        "exec",
        BACKUP,
        "find",
        "/mnt/server/archive",
        "(",
        "!",
        "-type",
        "l",
        "-perm",
        "/o=rwx",
        "-o",
        "!",
        "-user",
        "postgres",
        ")",
        "-print",
      ]);
      expect(open.stdout.trim()).toBe("");

      // A switchover: the next backup reads the new primary, with no change to the container.
      const backupId = (await docker(["inspect", "-f", "{{.Id}}", BACKUP])).stdout.trim();
      await deployment.up({ ...config, primary: 2 });
      expect((await docker(["inspect", "-f", "{{.Id}}", BACKUP])).stdout.trim()).toBe(backupId);
      await c.sql(2, "create table after_switchover as select 1 as x");
      const afterSwitchover = await docker(["exec", BACKUP, "backup-now"]);
      expect(afterSwitchover.stdout.trim()).toMatch(LABEL);
      expect(afterSwitchover.stderr).toMatch(new RegExp(`full backup of ${NAME}-2`));

      // cron runs the schedule (every minute here) into the container's log; retention keeps
      // two full backups of the four or more taken.
      const containerLog = async () => {
        const { stdout, stderr } = await docker(["logs", BACKUP]);
        return `${stdout}${stderr}`;
      };
      await eventually(
        async () =>
          ((await containerLog()).match(/\[backup\] .* full backup of /g) ?? []).length >= 2,
        "no scheduled backup in the container's log within 90 s",
        90_000,
      );
      expect(await containerLog()).toMatch(/scheduled full backups of prk-bk: \* \* \* \* \*/);
      await eventually(
        async () => (await backupInfo()).length === 2,
        "retention keeps 2 full backups",
      );

      await deployment.destroy();
      // The repository outlives the stack, and nothing else does.
      expect(await labelledObjects(NAME, { includeKept: true })).toEqual([`volume ${BACKUP}`]);
      expect(deployment.output).toContain(`docker volume rm ${BACKUP}`);
    } finally {
      await deployment.dispose();
      await removeLeftovers(NAME);
      timed("whole test", started, "backup");
    }
  });

  test("npm run backup prints the label; keepOnDestroy: false lets destroy delete the repository", async () => {
    if (unavailable) throw new Error(`live backup checks cannot run under CI: ${unavailable}`);
    const started = Date.now();
    const name = "prk-bk2";
    await removeLeftovers(name);
    // npm run backup reads clusterName from the stack's file, as a user's stack has one.
    const stackFile = path.join(__dirname, "..", "..", `Pulumi.${name}.yaml`);
    fs.writeFileSync(stackFile, `config:\n  postgres-replication:clusterName: ${name}\n`);
    const deployment = new LiveDeployment({ stack: name });
    try {
      await deployment.up({
        clusterName: name,
        hostPort: BASE_PORT + 50,
        image,
        standbys: 0,
        backup: { keepOnDestroy: false },
      });
      // What `npm run backup -- --stack NAME` runs.
      const script = path.join(__dirname, "..", "..", "scripts", "backup.sh");
      const backup = await run("bash", [script, "--stack", name], { timeoutMs: 180_000 });
      expect(backup.stdout.trim()).toMatch(LABEL);
      await deployment.destroy();
      expect(await labelledObjects(name, { includeKept: true })).toEqual([]);
      expect(deployment.output).not.toContain(`docker volume rm ${name}-backup`);
    } finally {
      fs.rmSync(stackFile, { force: true });
      await deployment.dispose();
      await removeLeftovers(name);
      timed("keepOnDestroy false, whole test", started, "backup");
    }
  });
});
