/**
 * Automatic failover (`failover: automatic`: Patroni with three etcd members) against real
 * containers through the live harness. A node-postgres client writes through readWriteEndpoint
 * while the leader is killed with nobody running `up`; every instance's writability is sampled
 * every 200 ms. Figures are printed (`measured: ...`), never asserted; correctness is: no
 * acknowledged row lost (synchronousStandbys 1), never two writable instances, the killed
 * leader rejoins by itself, the next `up` changes nothing, `primary` is a switchover, scaling
 * adds and removes members (and their slots), destroy leaves nothing.
 */
import { Client } from "pg";

import { docker, sleep, testImage } from "../support/docker";
import { ConfigValues } from "./drivers/deployment";
import { LiveDeployment } from "./drivers/live-driver";
import { eventually, labelledObjects, removeLeftovers } from "./support/cluster";
import { ExecWritablePoller, liveSuiteGate, logTail, timed } from "./support/faults";

const { describeLive } = liveSuiteGate("the automatic failover scenario");

const NAME = "pra-auto";
const SUPERUSER = "postgresadmin";
const FAILOVERS = 3;
const TEST_TIMEOUT = 10 * 60 * 1000;

interface Endpoint {
  host: string;
  port: number;
}

function endpointOf(value: unknown): Endpoint {
  const [host, port] = String(value).split(":");
  return { host, port: Number(port) };
}

async function query(endpoint: Endpoint, password: string, sql: string): Promise<string> {
  const c = new Client({
    ...endpoint,
    user: SUPERUSER,
    password,
    database: "postgresdb",
    connectionTimeoutMillis: 2000,
    query_timeout: 10_000,
  });
  c.on("error", () => undefined);
  await c.connect();
  try {
    const result = await c.query({ text: sql, rowMode: "array" });
    return String(result.rows[0]?.[0]);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Inserts numbered rows through the endpoint (a new connection each) until stopped. */
class Writer {
  readonly acks: { seq: number; at: number }[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(endpoint: Endpoint, password: string, firstSeq: number) {
    this.done = (async () => {
      for (let seq = firstSeq; this.running; seq++) {
        try {
          await query(endpoint, password, `insert into writes values (${seq}) returning seq`);
          this.acks.push({ seq, at: Date.now() });
        } catch {
          // Refused or broken while the leader changes; the gap is the figure.
        }
        await sleep(100);
      }
    })();
  }

  /** Last acknowledgement before `t` to the first one after it, in ms (undefined: none yet). */
  gapAround(t: number): number | undefined {
    const before = this.acks.filter((a) => a.at <= t).pop();
    const after = this.acks.find((a) => a.at > t);
    return before && after ? after.at - before.at : undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

interface Member {
  Member: string;
  Role: string;
  State: string;
  "Lag in MB"?: number | string;
}

/** Patroni's view (patronictl in any running member). */
async function members(): Promise<Member[]> {
  for (let n = 1; n <= 4; n++) {
    const r = await docker(
      [
        "exec",
        "-u",
        "postgres",
        `${NAME}-${n}`,
        "patronictl",
        "-c",
        "/config/patroni",
        "list",
        "-f",
        "json",
      ],
      { allowFailure: true, timeoutMs: 15_000 },
    ).catch(() => undefined);
    if (r && r.code === 0) return JSON.parse(r.stdout) as Member[];
  }
  return [];
}

async function leader(): Promise<string | undefined> {
  return (await members()).find((m) => m.Role === "Leader" && m.State === "running")?.Member;
}

/** Every named member runs, one leads, the others replicate with no lag. */
async function healthy(names: string[]): Promise<boolean> {
  const list = await members();
  const running = list.filter((m) => ["running", "streaming"].includes(m.State));
  return (
    running.length === names.length &&
    names.every((n) => running.some((m) => m.Member === n)) &&
    running.filter((m) => m.Role === "Leader").length === 1 &&
    running.every((m) => m.Role === "Leader" || Number(m["Lag in MB"] ?? 0) === 0)
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

describeLive("automatic failover (Patroni + etcd)", () => {
  test(
    "a killed leader is replaced with nobody running up: no acknowledged row lost, never two writers; the old one rejoins; up then changes nothing; primary switches over; scaling adds and removes members",
    async () => {
      const started = Date.now();
      await removeLeftovers(NAME);
      const deployment = new LiveDeployment({ stack: NAME });
      const base: ConfigValues = {
        clusterName: NAME,
        failover: "automatic",
        etcdMembers: 3,
        hostPort: 16300,
        endpointPort: 16320,
        image: testImage(),
        standbys: 2,
        synchronousStandbys: 1,
      };
      const three = [1, 2, 3].map((n) => `${NAME}-${n}`);
      let poller: ExecWritablePoller | undefined;
      let writer: Writer | undefined;
      let failed = false;
      try {
        let step = Date.now();
        const first = await deployment.up(base);
        timed("first up (3 etcd, 1 + 2 Patroni, proxy)", step, "automatic");
        expect(first.outputs.failover).toBe("automatic");
        expect(first.outputs.primary).toBe(`${NAME}-1`);
        const etcd = (
          await docker([
            "ps",
            "--format",
            "{{.Names}} {{.Ports}}",
            "--filter",
            `name=${NAME}-etcd-`,
          ])
        ).stdout;
        // Running, and nothing published on the host.
        expect(etcd.trim().split("\n").length).toBe(3);
        expect(etcd).not.toContain("->");
        const password = String(first.outputs.superuserPassword);
        const rw = endpointOf(first.outputs.readWriteEndpoint);
        const ro = endpointOf(first.outputs.readOnlyEndpoint);
        await query(rw, password, "create table writes (seq int primary key)");
        expect(await query(rw, password, "select pg_is_in_recovery()")).toBe("false");
        expect(await query(ro, password, "select pg_is_in_recovery()")).toBe("true");
        // The REST API refuses changes without its credentials.
        const anonymous = await docker([
          "exec",
          `${NAME}-1`,
          "python3",
          "-c",
          "import urllib.request as u, urllib.error as e\ntry: u.urlopen(u.Request('http://127.0.0.1:8008/config', data=b'{}', method='PATCH'))\nexcept e.HTTPError as x: print(x.code)",
        ]);
        expect(anonymous.stdout.trim()).toBe("401");

        poller = new ExecWritablePoller([...three], SUPERUSER, 200);
        writer = new Writer(rw, password, 1);
        await sleep(1500);
        const outages: number[] = [];
        const rejoins: number[] = [];
        for (let round = 1; round <= FAILOVERS; round++) {
          await eventually(() => healthy(three), "cluster not healthy before a kill", 120_000);
          const victim = (await leader())!;
          await docker(["kill", victim]);
          // Taken once the kill has returned: no commit on the victim can be acknowledged later.
          const killedAt = Date.now();
          let newLeader: string | undefined;
          await eventually(
            async () => {
              newLeader = await leader();
              return (
                newLeader !== undefined &&
                newLeader !== victim &&
                writer!.acks.some((a) => a.at > killedAt)
              );
            },
            `no new leader, or no write through it, after ${victim} was killed`,
            60_000,
          );
          outages.push(writer.gapAround(killedAt)!);
          const restartedAt = Date.now();
          await docker(["start", victim]);
          await eventually(
            async () =>
              (await members()).some(
                (m) => m.Member === victim && m.Role !== "Leader" && m.State === "running",
              ) && (await healthy(three)),
            `${victim} did not rejoin as a replica`,
            120_000,
          );
          rejoins.push(Date.now() - restartedAt);
          console.log(
            `measured: automatic failover ${round}: killed ${victim}, ${newLeader} leads; ` +
              `write outage through readWriteEndpoint ${outages[round - 1]} ms; ` +
              `${victim} back as a replica ${rejoins[round - 1]} ms after docker start`,
          );
        }
        await sleep(1000);
        await writer.stop();
        await poller.stop();
        const stored = new Set(
          (await query(rw, password, "select string_agg(seq::text, ',') from writes"))
            .split(",")
            .map(Number),
        );
        const lost = writer.acks.filter((a) => !stored.has(a.seq)).map((a) => a.seq);
        console.log(
          `measured: automatic failover x${FAILOVERS}: write outage median ${median(outages)} ms, ` +
            `max ${Math.max(...outages)} ms; rejoin median ${median(rejoins)} ms, max ${Math.max(...rejoins)} ms; ` +
            `${writer.acks.length} rows acknowledged, ${lost.length} lost; ` +
            `${poller.samples} writability samples, ${poller.splitBrain.length} with two writers`,
        );
        expect(lost).toEqual([]);
        expect(poller.splitBrain).toEqual([]);
        expect(poller.samples).toBeGreaterThan(10);

        // Pulumi does not fight Patroni: nothing to change, and the outputs say who leads.
        step = Date.now();
        const again = await deployment.up(base);
        timed("up after failovers", step, "automatic");
        const current = await leader();
        expect(Object.entries(again.actions).filter(([, a]) => a !== "same")).toEqual([]);
        expect(again.outputs.primary).toBe(current);

        // primary names the preferred leader: a switchover under a write load.
        const preferred = three.find((n) => n !== current)!;
        const preferredNumber = Number(preferred.slice(NAME.length + 1));
        writer = new Writer(rw, password, 1_000_000);
        await sleep(1500);
        step = Date.now();
        const switched = await deployment.up({ ...base, primary: preferredNumber });
        const switchedAt = Date.now();
        await sleep(1500);
        await writer.stop();
        const present = new Set(
          (await query(rw, password, "select string_agg(seq::text, ',') from writes"))
            .split(",")
            .map(Number),
        );
        let gap = 0;
        for (let i = 1; i < writer.acks.length; i++) {
          gap = Math.max(gap, writer.acks[i].at - writer.acks[i - 1].at);
        }
        console.log(
          `measured: switchover by primary=${preferredNumber}: up ${switchedAt - step} ms, ` +
            `longest write gap ${gap} ms, ${writer.acks.filter((a) => !present.has(a.seq)).length} acknowledged rows lost`,
        );
        expect(writer.acks.filter((a) => !present.has(a.seq))).toEqual([]);
        expect(await leader()).toBe(preferred);
        expect(switched.outputs.primary).toBe(preferred);

        // Scaling: a fourth member joins; removing it again drops its slot; the proxy stays.
        const proxyBefore = (
          await docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", `${NAME}-proxy`])
        ).stdout;
        step = Date.now();
        const up4 = await deployment.up({ ...base, primary: preferredNumber, standbys: 3 });
        timed("scale 2 -> 3 standbys", step, "automatic");
        expect(up4.actions[`${NAME}-proxy`]).toBe("same");
        expect(await healthy([...three, `${NAME}-4`])).toBe(true);
        step = Date.now();
        await deployment.up({ ...base, primary: preferredNumber, standbys: 2 });
        timed("scale 3 -> 2 standbys", step, "automatic");
        expect(
          (await docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", `${NAME}-proxy`])).stdout,
        ).toBe(proxyBefore);
        await eventually(() => healthy(three), "three members after the scale-down", 60_000);
        await eventually(
          async () =>
            (await query(
              rw,
              password,
              "select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots",
            )) ===
            three
              .filter((n) => n !== preferred)
              .map((n) => n.replace(/-/g, "_"))
              .join(","),
          "the removed member's slot is still there",
          60_000,
        );

        step = Date.now();
        await deployment.destroy();
        timed("destroy", step, "automatic");
        expect(await labelledObjects(NAME)).toEqual([]);
      } catch (err) {
        failed = true;
        for (const c of [...three, `${NAME}-etcd-1`, `${NAME}-proxy`]) {
          console.log(
            `--- docker logs --tail 30 ${c} ---\n${await logTail(c, 30).catch(() => "")}`,
          );
        }
        throw err;
      } finally {
        await writer?.stop();
        await poller?.stop();
        if (failed) await deployment.destroy().catch(() => undefined);
        await deployment.dispose();
        await removeLeftovers(NAME);
        timed("automatic failover scenario (whole)", started, "automatic");
      }
    },
    TEST_TIMEOUT,
  );
});
