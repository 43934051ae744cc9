/**
 * The read-write and read-only endpoints, used the way a Node application would: node-postgres
 * (which cannot parse a libpq multi-host URI) writing through `readWriteEndpoint` across a
 * switchover and a failover, and a connection held open across a scale-up.
 */
import { Client } from "pg";

import { docker, sleep, testImage } from "../support/docker";
import { ConfigValues } from "./drivers/deployment";
import { eventually, labelledObjects, removeLeftovers } from "./support/cluster";
import { timed as timedStep } from "./support/faults";
import type { ScenarioDriver } from "./scenarios";

const SCENARIO_TIMEOUT = 10 * 60 * 1000;

interface Endpoint {
  host: string;
  port: number;
}

function endpointOf(value: unknown): Endpoint {
  const [host, port] = String(value).split(":");
  return { host, port: Number(port) };
}

function client(endpoint: Endpoint, password: string): Client {
  const c = new Client({
    ...endpoint,
    user: "postgresadmin",
    password,
    database: "postgresdb",
    connectionTimeoutMillis: 2000,
  });
  // A server that goes away while the client idles reports it as an event; the next query on
  // that client fails, which is what the scenarios look at.
  c.on("error", () => undefined);
  return c;
}

async function query(endpoint: Endpoint, password: string, sql: string): Promise<string> {
  const c = client(endpoint, password);
  await c.connect();
  try {
    const result = await c.query({ text: sql, rowMode: "array" });
    return String(result.rows[0]?.[0]);
  } finally {
    await c.end();
  }
}

/**
 * A query as a client retries it: right after a change of primary the proxy may still end a
 * session on an instance it has just marked down (on-marked-down shutdown-sessions). Errors
 * for 30 s fail the test; a wrong answer is returned for the caller to see.
 */
async function queryRetrying(endpoint: Endpoint, password: string, sql: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await query(endpoint, password, sql);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(500);
    }
  }
}

/** Inserts numbered rows through the endpoint, a new connection each, until stopped. */
class EndpointWriter {
  readonly acknowledged: number[] = [];
  private readonly ackTimes: number[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(endpoint: Endpoint, password: string, firstSeq: number) {
    this.done = (async () => {
      for (let seq = firstSeq; this.running; seq++) {
        try {
          await query(endpoint, password, `insert into writes values (${seq}) returning seq`);
          this.acknowledged.push(seq);
          this.ackTimes.push(Date.now());
        } catch {
          // Refused or broken while the primary changes; the gap shows in the figures.
        }
        await sleep(100);
      }
    })();
  }

  /** Longest time without an acknowledged write, in milliseconds. */
  get longestGapMs(): number {
    let gap = 0;
    for (let i = 1; i < this.ackTimes.length; i++) {
      gap = Math.max(gap, this.ackTimes[i] - this.ackTimes[i - 1]);
    }
    return gap;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

export function endpointScenarios(driver: ScenarioDriver): void {
  test(
    "node-postgres writes through readWriteEndpoint across a switchover and a failover; a scale-up keeps its connections",
    async () => {
      const started = Date.now();
      const name = `prt-${driver.tag}-endpoints`;
      const base: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 90,
        endpointPort: driver.basePort + 110,
        image: testImage(),
        standbys: 1,
      };
      await removeLeftovers(name);
      const deployment = driver.create(name);
      try {
        const first = await deployment.up(base);
        const password = String(first.outputs.superuserPassword);
        const rw = endpointOf(first.outputs.readWriteEndpoint);
        const ro = endpointOf(first.outputs.readOnlyEndpoint);
        expect(rw).toEqual({ host: "127.0.0.1", port: driver.basePort + 110 });
        expect(ro).toEqual({ host: "127.0.0.1", port: driver.basePort + 111 });
        await query(rw, password, "create table writes (seq int primary key)");
        expect(await query(rw, password, "select pg_is_in_recovery()")).toBe("false");
        expect(await query(ro, password, "select pg_is_in_recovery()")).toBe("true");

        // A connection opened through the proxy survives adding standbys.
        const held = client(rw, password);
        await held.connect();
        const pid = (await held.query("select pg_backend_pid() as pid")).rows[0].pid as number;
        const proxyBefore = (
          await docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", `${name}-proxy`])
        ).stdout;
        const scaled = await deployment.up({ ...base, standbys: 2 });
        expect(scaled.actions[`${name}-proxy`]).toBe("same");
        expect(
          (await docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", `${name}-proxy`])).stdout,
        ).toBe(proxyBefore);
        expect((await held.query("select pg_backend_pid() as pid")).rows[0].pid).toBe(pid);
        await held.end();

        // Switchover by config, then failover after the primary is killed.
        let writer = new EndpointWriter(rw, password, 1);
        await sleep(1000);
        let phase = Date.now();
        await deployment.up({ ...base, standbys: 2, primary: 2 });
        await eventually(
          async () => writer.acknowledged.length > 0 && Date.now() - phase > 2000,
          "no write got through after the switchover",
        );
        await writer.stop();
        console.log(
          `measured: switchover through readWriteEndpoint: longest write gap ${writer.longestGapMs} ms, ` +
            `${writer.acknowledged.length} acknowledged`,
        );
        const afterSwitchover = writer.acknowledged;
        expect(await queryRetrying(rw, password, "select not pg_is_in_recovery()")).toBe("true");

        writer = new EndpointWriter(rw, password, 1_000_000);
        await sleep(1000);
        await docker(["kill", `${name}-2`]);
        phase = Date.now();
        await deployment.up({ ...base, standbys: 2, primary: 3 });
        await sleep(2000);
        await writer.stop();
        console.log(
          `measured: failover through readWriteEndpoint (docker kill, then up): longest write gap ` +
            `${writer.longestGapMs} ms, up took ${((Date.now() - phase) / 1000).toFixed(1)} s`,
        );
        const stored = await queryRetrying(
          rw,
          password,
          "select string_agg(seq::text, ',' order by seq) from writes",
        );
        const present = new Set(stored.split(",").map(Number));
        // Asynchronous replication: a failover may lose what only the killed primary had, but a
        // switchover loses nothing.
        expect(afterSwitchover.filter((seq) => !present.has(seq))).toEqual([]);
        expect(await queryRetrying(rw, password, "select inet_server_port() is not null")).toBe(
          "true",
        );
        expect(await queryRetrying(ro, password, "select pg_is_in_recovery()")).toBe("true");

        await deployment.destroy();
        expect(await labelledObjects(name)).toEqual([]);
      } finally {
        await deployment.dispose();
        await removeLeftovers(name);
      }
      timedStep("endpoints", started, "scenario");
    },
    SCENARIO_TIMEOUT,
  );
}
