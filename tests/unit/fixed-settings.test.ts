/**
 * The guard that refuses, before anything changes, what an existing cluster cannot change in
 * place: the failover mode and the number of etcd members. The script runs here as the
 * command provider runs it (bash, previous output in PULUMI_COMMAND_STDOUT).
 */
import { spawnSync } from "child_process";

import { installMocks, recordProgram } from "./support/recording-mocks";

installMocks();
jest.setTimeout(30_000);

// Imported after the mocks are installed, as Pulumi's unit-testing guide prescribes.
import { PostgresReplicaSet } from "../../components/postgres-replica-set";
import { FailoverMode } from "../../components/settings";
import { scriptText } from "../../components/scripts";

function guard(env: Record<string, string>): { status: number | null; out: string; err: string } {
  const r = spawnSync("bash", ["-c", scriptText("fixed-settings")], {
    env: { ...process.env, PULUMI_COMMAND_STDOUT: "", ...env },
    encoding: "utf8",
  });
  // Only the script's own messages: the machine's shell start-up may add lines of its own.
  const err = r.stderr
    .split("\n")
    .filter((line) => line.startsWith("error: "))
    .join("\n");
  return { status: r.status, out: r.stdout.trim(), err };
}

describe("fixed-settings guard", () => {
  test("a first run prints the settings it will compare with later", () => {
    expect(guard({ FAILOVER: "automatic", ETCD_MEMBERS: "3" })).toEqual({
      status: 0,
      out: "failover=automatic etcdMembers=3",
      err: "",
    });
  });

  test("the same settings again (e.g. a newer script) pass", () => {
    const previous = "failover=manual etcdMembers=";
    const r = guard({ FAILOVER: "manual", ETCD_MEMBERS: "", PULUMI_COMMAND_STDOUT: previous });
    expect(r).toEqual({ status: 0, out: previous, err: "" });
  });

  test("a change of failover mode is refused, naming the key and both values", () => {
    const r = guard({
      FAILOVER: "automatic",
      ETCD_MEMBERS: "3",
      PULUMI_COMMAND_STDOUT: "failover=manual etcdMembers=",
    });
    expect(r.status).toBe(1);
    expect(r.err).toMatch(
      /^error: failover: this cluster runs in manual mode and cannot change to automatic in place/,
    );
    expect(r.err).toContain("Set failover back to manual");
  });

  test("a change of etcd size is refused, naming the key and both values", () => {
    const r = guard({
      FAILOVER: "automatic",
      ETCD_MEMBERS: "5",
      PULUMI_COMMAND_STDOUT: "failover=automatic etcdMembers=3",
    });
    expect(r.status).toBe(1);
    expect(r.err).toMatch(
      /^error: etcdMembers: this cluster's etcd has 3 members and cannot change to 5/,
    );
  });
});

describe("fixed-settings guard in the graph", () => {
  test.each<FailoverMode>(["manual", "automatic"])(
    "in %s mode everything waits for it",
    async (failover) => {
      const resources = await recordProgram(() => {
        new PostgresReplicaSet("postgres", { failover, etcdMembers: 3 });
      });
      const guardResource = resources.find((r) => r.name === "postgres-fixed-settings");
      expect(guardResource?.inputs.addPreviousOutputInEnv).toBe(true);
      expect((guardResource?.inputs.environment as Record<string, string>).ETCD_MEMBERS).toBe(
        failover === "automatic" ? "3" : "",
      );
      expect(resources.find((r) => r.name === "postgres-image")?.dependencies).toEqual([
        "postgres-fixed-settings",
      ]);
      // Everything that holds data waits for the image, so for the guard too.
      const holders = resources.filter(
        (r) => r.type === "docker:index/volume:Volume" || r.type === "docker:index/network:Network",
      );
      expect(holders.length).toBeGreaterThan(3);
      for (const r of holders)
        expect([r.name, r.dependencies]).toEqual([r.name, ["postgres-image"]]);
      const passwords = resources.filter(
        (r) => r.type === "random:index/randomPassword:RandomPassword",
      );
      expect(passwords.length).toBeGreaterThanOrEqual(4);
      for (const p of passwords) {
        expect([p.name, p.dependencies]).toEqual([p.name, ["postgres-fixed-settings"]]);
      }
    },
  );
});
