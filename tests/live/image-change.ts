/**
 * A change of `image` is a rolling operation: the standbys take the new image first, the
 * primary only once they run it, so an image that cannot run the cluster stops the rollout
 * while the primary still serves. Written once for both drivers.
 */
import { docker, testImage } from "../support/docker";
import { ConfigValues } from "./drivers/deployment";
import { Cluster, eventually } from "./support/cluster";
import { endpointOf, leader, query, storedSeqs, Writer } from "./support/patroni";
import { timed as timedStep } from "./support/faults";
import { failureOf, notSame, withDeployment } from "./mistakes";
import type { ScenarioDriver } from "./scenarios";

const SCENARIO_TIMEOUT = 10 * 60 * 1000;

/** A new image made from `from` by running `script` in it (nothing when empty). */
async function deriveImage(from: string, tag: string, script: string): Promise<string> {
  const builder = `${tag.replace(/[^a-z0-9-]/g, "-")}-build`;
  await docker(["rm", "-f", builder], { allowFailure: true });
  await docker(["run", "--name", builder, "--entrypoint", "/bin/sh", from, "-c", script || "true"]);
  // The run above replaced the entrypoint; the image keeps its own.
  const entrypoint = (
    await docker(["image", "inspect", "-f", "{{json .Config.Entrypoint}}", from])
  ).stdout.trim();
  await docker([
    "commit",
    "--change",
    `ENTRYPOINT ${entrypoint}`,
    "--change",
    'CMD ["postgres"]',
    "--change",
    `LABEL postgres-replication.test-image=${tag.replace(/[^a-z0-9-]/g, "-")}`,
    builder,
    tag,
  ]);
  await docker(["rm", "-f", builder]);
  return (await docker(["image", "inspect", "-f", "{{.Id}}", tag])).stdout.trim();
}

async function inspect(container: string, format: string): Promise<string> {
  return (await docker(["container", "inspect", "-f", format, container])).stdout.trim();
}

export function imageChangeScenarios(driver: ScenarioDriver): void {
  const image = testImage();
  const cluster = (name: string) => `prt-${driver.tag}-${name}`;

  test(
    "an image change rolls: standbys first, the primary once they run it; an image that cannot run stops before the primary",
    async () => {
      const started = Date.now();
      const name = cluster("rolling");
      const tags = {
        current: `${name}-image:current`,
        next: `${name}-image:next`,
        broken: `${name}-image:broken`,
      };
      await docker(["tag", image, tags.current]);
      const nextId = await deriveImage(image, tags.next, "");
      await deriveImage(
        image,
        tags.broken,
        "printf '#!/bin/sh\\necho this image cannot run PostgreSQL >&2\\nexit 1\\n' > /usr/lib/postgresql/15/bin/postgres",
      );
      const base: ConfigValues = {
        clusterName: name,
        hostPort: driver.basePort + 120,
        image: tags.current,
        standbys: 2,
      };
      const instances = [1, 2, 3].map((n) => `${name}-${n}`);
      await withDeployment(driver, name, async (deployment) => {
        const c = new Cluster(name, await deployment.up(base));
        await c.sql(1, "create table kept (v text); insert into kept values ('before')");
        const before = await Promise.all([1, 2, 3].map((n) => c.containerIdentity(n)));

        let phase = Date.now();
        const rolled = new Cluster(name, await deployment.up({ ...base, image: tags.next }));
        timedStep("image change: every instance on the new image", phase, "scenario");
        for (const container of instances) {
          expect([container, await inspect(container, "{{.Image}}")]).toEqual([container, nextId]);
        }
        const after = await Promise.all([1, 2, 3].map((n) => rolled.containerIdentity(n)));
        for (const n of [0, 1, 2]) expect(after[n]).not.toBe(before[n]);
        // The primary's container was created only after both standbys had started on the
        // new image.
        const primaryCreated = Date.parse(await inspect(instances[0], "{{.Created}}"));
        for (const standby of instances.slice(1)) {
          const standbyStarted = Date.parse(await inspect(standby, "{{.State.StartedAt}}"));
          expect([standby, primaryCreated > standbyStarted]).toEqual([standby, true]);
        }
        expect(await rolled.streaming(1)).toEqual(instances.slice(1));
        for (const n of [2, 3]) expect(await rolled.sql(n, "select v from kept")).toBe("before");
        expect(notSame(await deployment.up({ ...base, image: tags.next }))).toEqual([]);

        phase = Date.now();
        const refused = await failureOf(deployment.up({ ...base, image: tags.broken }));
        timedStep("image change: an image that cannot run, refused", phase, "scenario");
        expect(refused).toMatch(/cannot run the new image .*, so the primary keeps the old one/);
        // The primary never stopped: same container, old image, still takes writes.
        expect(await rolled.containerIdentity(1)).toBe(after[0]);
        expect(await inspect(instances[0], "{{.Image}}")).toBe(nextId);
        await rolled.sql(1, "insert into kept values ('during')");

        phase = Date.now();
        const restored = new Cluster(name, await deployment.up({ ...base, image: tags.next }));
        timedStep("image change: back to the working image", phase, "scenario");
        expect(await restored.containerIdentity(1)).toBe(after[0]);
        expect(await restored.streaming(1)).toEqual(instances.slice(1));
        for (const n of [2, 3]) {
          await eventually(
            async () => (await restored.sql(n, "select count(*) from kept")) === "2",
            `instance ${n} did not catch up after the failed rollout`,
          );
        }
      }).finally(() =>
        docker(["rmi", tags.current, tags.next, tags.broken], { allowFailure: true }),
      );
      timedStep("image change", started, "scenario");
    },
    SCENARIO_TIMEOUT,
  );

  test(
    "automatic failover: an image change reaches one member at a time, the preferred leader last; writes go on and none is lost",
    async () => {
      const started = Date.now();
      const name = cluster("rolling-auto");
      const tags = { current: `${name}-image:current`, next: `${name}-image:next` };
      await docker(["tag", image, tags.current]);
      const nextId = await deriveImage(image, tags.next, "");
      const base: ConfigValues = {
        clusterName: name,
        failover: "automatic",
        hostPort: driver.basePort + 140,
        image: tags.current,
        standbys: 2,
        synchronousStandbys: 1,
        primary: 2,
      };
      // The order the new image reaches the members: replicas first, the preferred leader last.
      const order = [1, 3, 2].map((n) => `${name}-${n}`);
      await withDeployment(driver, name, async (deployment) => {
        const first = await deployment.up(base);
        expect(first.outputs.primary).toBe(`${name}-2`);
        const rw = endpointOf(first.outputs.readWriteEndpoint);
        const password = String(first.outputs.superuserPassword);
        await query(rw, password, "create table writes (seq int primary key)");

        const writer = new Writer(rw, password, 1);
        const phase = Date.now();
        const rolled = await deployment.up({ ...base, image: tags.next });
        timedStep("automatic image change: every member on the new image", phase, "scenario");
        await writer.stop();
        const lost = writer.lost(await storedSeqs(rw, password));
        console.log(
          `measured: automatic image change: ${writer.acks.length} rows acknowledged, ` +
            `${writer.failures.length} attempts failed, longest write gap ${writer.longestGap()} ms, ` +
            `${lost.length} acknowledged rows lost`,
        );
        expect(lost).toEqual([]);
        for (const container of order) {
          expect([container, await inspect(container, "{{.Image}}")]).toEqual([container, nextId]);
        }
        // One member at a time: each one was created after the one before it had started.
        for (let i = 1; i < order.length; i++) {
          const created = Date.parse(await inspect(order[i], "{{.Created}}"));
          const before = Date.parse(await inspect(order[i - 1], "{{.State.StartedAt}}"));
          expect([order[i], created > before]).toEqual([order[i], true]);
        }
        expect(await leader(name)).toBe(`${name}-2`);
        expect(rolled.outputs.primary).toBe(`${name}-2`);
        expect(notSame(await deployment.up({ ...base, image: tags.next }))).toEqual([]);
      }).finally(() => docker(["rmi", tags.current, tags.next], { allowFailure: true }));
      timedStep("automatic image change", started, "scenario");
    },
    SCENARIO_TIMEOUT,
  );
}
