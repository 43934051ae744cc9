/**
 * Measurement 1: wall time of the first `up` against the number of standbys, the duration of
 * each standby's clone (`-join`), and a serial build (standbys added one `up` at a time).
 */
import { BenchContext, withCluster } from "./cluster";
import { joinTimings } from "./harness-log";
import { ProvisioningResult, ProvisioningRun, SerialBuild } from "./types";

export interface ProvisioningPlan {
  readonly standbyCounts: readonly number[];
  readonly repetitions: number;
  /** Build a cluster of this many standbys one at a time (0: skip). */
  readonly serialBuildTo: number;
  readonly firstPort: number;
}

export async function measureProvisioning(
  ctx: BenchContext,
  plan: ProvisioningPlan,
): Promise<ProvisioningResult> {
  const runs: ProvisioningRun[] = [];
  for (let rep = 0; rep < plan.repetitions; rep++) {
    for (const [i, standbys] of plan.standbyCounts.entries()) {
      const name = `prb-prov-${standbys}`;
      const run = await withCluster(ctx, name, plan.firstPort + 20 * i, async (c) => {
        const up = await c.up({ standbys });
        return {
          standbys,
          wallSeconds: up.wallSeconds,
          engineSeconds: up.engineSeconds,
          joinSeconds: joinTimings(up.resources).map((t) => t.seconds),
        };
      });
      ctx.note(
        `  provisioning ${standbys} standbys (run ${rep + 1}): ${run.wallSeconds.toFixed(1)}s` +
          ` (joins ${run.joinSeconds.map((s) => s.toFixed(1)).join(", ") || "none"})`,
      );
      runs.push(run);
    }
  }
  const serial =
    plan.serialBuildTo > 0
      ? await serialBuild(ctx, plan.serialBuildTo, plan.firstPort + 20 * plan.standbyCounts.length)
      : undefined;
  return { runs, serial };
}

async function serialBuild(ctx: BenchContext, to: number, port: number): Promise<SerialBuild> {
  return withCluster(ctx, "prb-prov-serial", port, async (c) => {
    const stepSeconds: number[] = [];
    const joinSeconds: number[] = [];
    for (let standbys = 0; standbys <= to; standbys++) {
      const up = await c.up({ standbys });
      stepSeconds.push(up.wallSeconds);
      joinSeconds.push(...joinTimings(up.resources).map((t) => t.seconds));
      ctx.note(`  serial build: ${standbys} standbys after ${up.wallSeconds.toFixed(1)}s more`);
    }
    return { stepSeconds, joinSeconds };
  });
}
