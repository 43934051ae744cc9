/**
 * Rolling restarts for settings a hot standby must match or exceed (max_connections and
 * friends): a lower value must reach the primary before the standbys, a higher one the
 * standbys before the primary, or a standby refuses to run recovery.
 */
import { testImage } from "../support/docker";
import { ConfigValues } from "./drivers/deployment";
import type { ScenarioDriver } from "./scenarios";
import { Cluster, eventually, labelledObjects, removeLeftovers } from "./support/cluster";
import { timed } from "./support/faults";

const SCENARIO_TIMEOUT = 15 * 60 * 1000;
const INSTANCES = [1, 2, 3];

export function restartOrderScenarios(driver: ScenarioDriver): void {
  const image = testImage();

  test(
    "restart order: lowering max_connections restarts the primary first, raising it the standbys first",
    async () => {
      const started = Date.now();
      const name = `prt-${driver.tag}-restartorder`;
      await removeLeftovers(name);
      const deployment = driver.create(name);
      const config: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 80,
        image,
        standbys: 2,
      };
      const withMaxConnections = (value: number) => ({
        ...config,
        parameters: { max_connections: value },
      });
      try {
        const c = new Cluster(name, await deployment.up(withMaxConnections(150)));
        /** pg_postmaster_start_time() of every instance, in epoch microseconds. */
        const startTimes = () =>
          Promise.all(
            INSTANCES.map(async (n) =>
              Number(
                await c.sql(
                  n,
                  "select (extract(epoch from pg_postmaster_start_time()) * 1e6)::bigint",
                ),
              ),
            ),
          );
        const settled = async (value: number, phase: string) => {
          for (const n of INSTANCES) {
            expect(await c.sql(n, "show max_connections")).toBe(String(value));
          }
          for (const n of [2, 3]) expect(await c.sql(n, "select pg_is_in_recovery()")).toBe("t");
          await eventually(
            async () => (await c.streaming(1)).length === 2,
            `standbys do not stream again after ${phase}`,
          );
        };
        /** Checks that every instance restarted; describes when, for the log. */
        const restarts = (before: number[], after: number[]) => {
          after.forEach((t, i) => expect(t).toBeGreaterThan(before[i]));
          const [primary, ...standbys] = after.map((t) => new Date(t / 1000).toISOString());
          return `primary ${primary}, standbys ${standbys.join(", ")}`;
        };
        await settled(150, "the first deployment");
        const initial = await startTimes();

        // Lower: a standby started below the primary's value would refuse to run recovery.
        let phase = Date.now();
        await deployment.up(withMaxConnections(50));
        timed("restart order: max_connections 150 -> 50", phase, "scenario");
        await settled(50, "max_connections was lowered");
        const lowered = await startTimes();
        console.log(`measured: max_connections 150 -> 50 restarts: ${restarts(initial, lowered)}`);
        for (const n of [2, 3]) expect(lowered[0]).toBeLessThan(lowered[n - 1]);

        // Raise: the standbys first, as for any other restart-only setting.
        phase = Date.now();
        await deployment.up(withMaxConnections(120));
        timed("restart order: max_connections 50 -> 120", phase, "scenario");
        await settled(120, "max_connections was raised");
        const raised = await startTimes();
        console.log(`measured: max_connections 50 -> 120 restarts: ${restarts(lowered, raised)}`);
        for (const n of [2, 3]) expect(raised[n - 1]).toBeLessThan(raised[0]);

        await deployment.destroy();
        expect(await labelledObjects(name)).toEqual([]);
      } finally {
        await deployment.dispose();
        await removeLeftovers(name);
      }
      timed("restart order", started, "scenario");
    },
    SCENARIO_TIMEOUT,
  );
}
