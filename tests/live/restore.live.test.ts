/**
 * Restores from another cluster's pgBackRest repository (live): point in time (rows written
 * after the target and a table dropped after it are absent / present again), latest, a
 * restored cluster that writes into its own repository and never into the source's (a later
 * restore of the source follows the source's timeline), and the refusals before anything is
 * created. Figures are printed, not asserted.
 */
import { docker, run, shellOnVolume, sleep, testImage } from "../support/docker";
import { ConfigValues } from "./drivers/deployment";
import { LiveDeployment } from "./drivers/live-driver";
import { Cluster, eventually, labelledObjects, removeLeftovers } from "./support/cluster";
import { liveSuiteGate, timed } from "./support/faults";

const { describeLive, unavailable } = liveSuiteGate("the live restore checks");

// Host ports 16500-16599 (16400-16499 belong to backup.live.test.ts).
const SOURCE = "pra-rst-src";
const PITR = "pra-rst-pit";
const COPY = "pra-rst-r";
const COPY2 = "pra-rst-r2";
const REFUSED = "pra-rst-err";
const ALL = [SOURCE, PITR, COPY, COPY2, REFUSED];

/** Files in a cluster's repository volume under archive/<stanza>/, relative to it. */
async function archiveFiles(cluster: string, image: string): Promise<string[]> {
  const { stdout } = await shellOnVolume(
    image,
    `${cluster}-backup`,
    "/repo",
    `cd /repo/archive/${cluster} && find . -type f | sort`,
  );
  return stdout.split("\n").filter((f) => f !== "");
}

/** Archives the primary's current WAL into its repository and waits for it (pgbackrest check). */
async function archiveNow(cluster: string): Promise<void> {
  await docker(
    [
      "exec",
      "-u",
      "postgres",
      `${cluster}-1`,
      "pgbackrest",
      "--config=/config/pgbackrest.conf",
      `--stanza=${cluster}`,
      "check",
    ],
    { timeoutMs: 120_000 },
  );
}

const utcNow =
  "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'";

const rows = (c: Cluster, n: number, table = "items") =>
  c.sql(n, `select string_agg(v, ',' order by v) from ${table}`);

describeLive("restore from a pgBackRest repository (live harness)", () => {
  const image = testImage();
  jest.setTimeout(25 * 60 * 1000);

  test("point in time, latest, own repository and timeline, refusals", async () => {
    if (unavailable) throw new Error(`live restore checks cannot run under CI: ${unavailable}`);
    const started = Date.now();
    await Promise.all(ALL.map(removeLeftovers));
    const deployments = new Map<string, LiveDeployment>();
    let finished = false;
    const deployment = (name: string) => {
      if (!deployments.has(name)) deployments.set(name, new LiveDeployment({ stack: name }));
      return deployments.get(name)!;
    };
    const base = (name: string, hostPort: number, extra: ConfigValues = {}): ConfigValues => ({
      clusterName: name,
      hostPort,
      image,
      standbys: 0,
      ...extra,
    });
    try {
      // The source: a first full backup, rows a and a table, the target T, then rows b and
      // the table dropped; everything archived.
      const source = new Cluster(
        SOURCE,
        await deployment(SOURCE).up(base(SOURCE, 16500, { parameters: { autovacuum: false } })),
      );
      await eventually(
        async () =>
          (
            await docker(["inspect", "-f", "{{.State.Health.Status}}", `${SOURCE}-backup`])
          ).stdout.trim() === "healthy",
        "no first backup of the source within 180 s",
        180_000,
      );
      await source.sql(1, "create table items (v text); insert into items values ('a1'), ('a2')");
      await source.sql(1, "create table precious as select g as id from generate_series(1, 3) g");
      await sleep(1100);
      const target = await source.sql(1, utcNow);
      await sleep(1100);
      await source.sql(1, "insert into items values ('b1'); drop table precious");
      // After the last commit (autovacuum is off: nothing commits later), before the archive.
      await sleep(1100);
      const afterLastCommit = await source.sql(1, utcNow);
      await sleep(1100);
      await archiveNow(SOURCE);
      const sourceArchiveBefore = await archiveFiles(SOURCE, image);
      console.log(
        `restore: target ${target}; source archive holds ${sourceArchiveBefore.length} files`,
      );

      // Refused before anything of the cluster is created, each with one message naming the key.
      const refusals: [ConfigValues, RegExp][] = [
        [
          { restore: { fromCluster: SOURCE, target: "2001-01-01 00:00:00+00" } },
          /restore\.target: 2001-01-01 00:00:00\+00 is before the end of pra-rst-src's first backup/,
        ],
        [
          { restore: { fromCluster: SOURCE, target: "2099-01-01T00:00:00Z" } },
          /restore\.target: 2099-01-01 00:00:00\+00 is after the last WAL pra-rst-src archived/,
        ],
        [
          { restore: { fromCluster: "pra-rst-none" } },
          /restore\.fromCluster: there is no repository volume pra-rst-none-backup/,
        ],
        [
          { restore: { fromCluster: SOURCE }, failover: "automatic" },
          /restore: is not available with failover: automatic/,
        ],
      ];
      for (const [i, [extra, message]] of refusals.entries()) {
        const refused = new LiveDeployment({ stack: `${REFUSED}-${i}` });
        try {
          await expect(refused.up(base(REFUSED, 16580, extra))).rejects.toThrow(message);
          expect(await labelledObjects(REFUSED, { includeKept: true })).toEqual([]);
          expect(
            (
              await run("docker", ["volume", "inspect", "pra-rst-none-backup"], {
                allowFailure: true,
              })
            ).code,
          ).not.toBe(0);
        } finally {
          await refused.dispose();
        }
      }

      // To T, with a standby cloned from the restored primary: rows a only, the table back.
      let t0 = Date.now();
      const pitr = new Cluster(
        PITR,
        await deployment(PITR).up(
          base(PITR, 16520, { standbys: 1, restore: { fromCluster: SOURCE, target } }),
        ),
      );
      timed("up restored to a time (1 + 1)", t0, "restore");
      expect(await rows(pitr, 1)).toBe("a1,a2");
      expect(await pitr.sql(1, "select count(*) from precious")).toBe("3");
      expect(await pitr.sql(1, "select pg_is_in_recovery()")).toBe("f");
      await eventually(async () => (await rows(pitr, 2)) === "a1,a2", "standby 2 lacks rows a");
      expect(await pitr.sql(2, "select count(*) from precious")).toBe("3");
      expect(await pitr.streaming(1)).toEqual([`${PITR}-2`]);
      // Its own repository, and nothing of the source's left in the settings.
      for (const n of [1, 2]) {
        expect(await pitr.sql(n, "show archive_command")).toMatch(
          new RegExp(`--stanza=${PITR} archive-push`),
        );
        expect(await pitr.sql(n, "show restore_command")).toMatch(
          new RegExp(`--stanza=${PITR} archive-get`),
        );
      }
      const autoConf = await docker(["exec", `${PITR}-1`, "cat", "/data/postgresql.auto.conf"]);
      expect(autoConf.stdout).not.toMatch(/restore_command|recovery_target|restore-source/);
      const owner = await docker([
        "exec",
        `${PITR}-1`,
        "stat",
        "-c",
        "%U %a",
        "/data/postgresql.auto.conf",
      ]);
      expect(owner.stdout.trim()).toBe("postgres 600");
      await deployment(PITR).destroy();
      // A destroy keeps the restored cluster's own repository and nothing else.
      expect(await labelledObjects(PITR, { includeKept: true })).toEqual([`volume ${PITR}-backup`]);
      await removeLeftovers(PITR);

      // A target the archived WAL never reaches (no commit after it): PostgreSQL's reason fails
      // `up` before the primary's container exists, and the data volume is left empty; with
      // another target the next `up` restores; a destroy leaves nothing.
      t0 = Date.now();
      const failing = deployment(`${REFUSED}-recovery`);
      await expect(
        failing.up(
          base(REFUSED, 16580, { restore: { fromCluster: SOURCE, target: afterLastCommit } }),
        ),
      ).rejects.toThrow(
        /restore: recovery of pra-rst-src to .* failed: recovery ended before configured recovery target was reached\. The data volume pra-rst-err-1-data was left empty/,
      );
      timed("failed restore", t0, "restore");
      const left = await labelledObjects(REFUSED);
      // No instance container, and no restore container left running.
      expect(left.filter((o) => /^container .*-([0-9]+|restore)$/.test(o))).toEqual([]);
      const dataLeft = await run("docker", [
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        "-v",
        `${REFUSED}-1-data:/data:ro`,
        image,
        "-c",
        "ls -A /data | wc -l",
      ]);
      expect(dataLeft.stdout.trim()).toBe("0");
      // A reachable target next: the same stack restores again.
      const retried = new Cluster(
        REFUSED,
        await failing.up(base(REFUSED, 16580, { restore: { fromCluster: SOURCE, target } })),
      );
      expect(await rows(retried, 1)).toBe("a1,a2");
      await failing.destroy();
      expect(await labelledObjects(REFUSED)).toEqual([]);
      await removeLeftovers(REFUSED);

      // To latest: rows a and b, the table gone; then writes of its own.
      t0 = Date.now();
      const copyConfig = base(COPY, 16540, { restore: { fromCluster: SOURCE } });
      const copy = new Cluster(COPY, await deployment(COPY).up(copyConfig));
      timed("up restored to latest (1 + 0)", t0, "restore");
      expect(await rows(copy, 1)).toBe("a1,a2,b1");
      expect(await copy.sql(1, "select to_regclass('precious') is null")).toBe("t");
      await copy.sql(1, "insert into items values ('r1'); create table only_in_copy (x int)");
      await archiveNow(COPY);
      const copyArchive = await archiveFiles(COPY, image);
      expect(copyArchive.some((f) => /\/00000002\.history$/.test(f))).toBe(true);
      // The source's stanza holds nothing of the copy's timeline.
      const sourceArchiveAfter = await archiveFiles(SOURCE, image);
      expect(sourceArchiveAfter.filter((f) => /history|\/0000000[2-9A-F]/.test(f))).toEqual([]);
      expect(sourceArchiveAfter).toEqual(expect.arrayContaining(sourceArchiveBefore));

      // An unchanged `up` of the restored cluster changes nothing; a new target is refused.
      const again = await deployment(COPY).up(copyConfig);
      expect(Object.values(again.actions).filter((a) => a !== "same")).toEqual([]);
      await expect(
        deployment(COPY).up({ ...copyConfig, restore: { fromCluster: SOURCE, target } }),
      ).rejects.toThrow(/restore: cluster pra-rst-r already has data/);
      expect(await rows(copy, 1)).toBe("a1,a2,b1,r1");

      // The source restored again, to latest: its own history, not the copy's.
      t0 = Date.now();
      const copy2 = new Cluster(
        COPY2,
        await deployment(COPY2).up(base(COPY2, 16560, { restore: { fromCluster: SOURCE } })),
      );
      timed("second restore of the source to latest (1 + 0)", t0, "restore");
      expect(await rows(copy2, 1)).toBe("a1,a2,b1");
      expect(await copy2.sql(1, "select to_regclass('only_in_copy') is null")).toBe("t");
      expect(await copy2.sql(1, "select timeline_id from pg_control_checkpoint()")).toBe("2");
      finished = true;
    } finally {
      for (const [name, d] of deployments) {
        await d.destroy().catch((e: Error) => console.log(`destroy ${name}: ${e.message}`));
        await d.dispose();
      }
      await Promise.all(ALL.map(removeLeftovers));
      const left = (
        await Promise.all(ALL.map((n) => labelledObjects(n, { includeKept: true })))
      ).flat();
      timed("whole test", started, "restore");
      // Checked only when the scenario itself passed, so that its own failure stays the report.
      if (finished) expect(left).toEqual([]);
      else if (left.length > 0) console.log(`restore: left behind: ${left.join(", ")}`);
    }
  });
});
