/**
 * Measurement 1: the first `up` against the number of standbys, each new standby's base
 * backup, a serial build (standbys added one `up` at a time), and the baseline: the tutorial's
 * steps typed by hand (bench/tutorial-by-hand.sh), run in between, so that both see the same
 * machine at the same time.
 */
import { TIGHT_POLL_SECONDS, tutorialByHand } from "./by-hand";
import { BenchContext, withCluster } from "./cluster";
import { cloneTimings } from "./harness-log";
import { HandRun, ProvisioningResult, ProvisioningRun, SerialBuild } from "./types";

export interface ProvisioningPlan {
  readonly standbyCounts: readonly number[];
  readonly repetitions: number;
  /** Extra rounds of only the goal cases: by hand, 1 standby, 5 standbys. */
  readonly goalRepetitions: number;
  /** Build a cluster of this many standbys one at a time (0: skip). */
  readonly serialBuildTo: number;
  readonly firstPort: number;
  /** Host port of the hand-typed tutorial's primary (its standby takes the next one). */
  readonly handPort: number;
}

/** The cases the goals compare: 1 primary + 1 standby, and + 5. */
export const GOAL_STANDBYS = [1, 5] as const;

export async function measureProvisioning(
  ctx: BenchContext,
  plan: ProvisioningPlan,
): Promise<ProvisioningResult> {
  const runs: ProvisioningRun[] = [];
  const byHand: HandRun[] = [];
  const portOf = (standbys: number) =>
    plan.firstPort + 20 * Math.max(0, plan.standbyCounts.indexOf(standbys));
  const hand = async (round: string) => {
    for (const poll of [undefined, TIGHT_POLL_SECONDS]) {
      const h = await tutorialByHand(ctx, plan.handPort, poll);
      ctx.note(
        `  tutorial by hand, polling every ${h.pollSeconds}s (${round}): ${h.seconds.toFixed(1)}s`,
      );
      byHand.push(h);
    }
  };
  const up = async (standbys: number, round: string) => {
    const run = await firstUp(ctx, standbys, portOf(standbys));
    ctx.note(
      `  provisioning ${standbys} standbys (${round}): ${run.engineSeconds?.toFixed(1) ?? "?"}s ` +
        `harness total, ${run.wallSeconds.toFixed(1)}s wall` +
        ` (clones ${run.cloneSeconds.map((s) => s.toFixed(1)).join(", ") || "none"})`,
    );
    runs.push(run);
  };
  for (let rep = 0; rep < plan.repetitions; rep++) {
    await hand(`run ${rep + 1}`);
    for (const standbys of plan.standbyCounts) await up(standbys, `run ${rep + 1}`);
  }
  // The goals compare medians: more rounds of just those cases, each round in one go.
  for (let rep = 0; rep < plan.goalRepetitions; rep++) {
    const round = `goal round ${rep + 1}`;
    await hand(round);
    for (const standbys of GOAL_STANDBYS) await up(standbys, round);
  }
  const serial =
    plan.serialBuildTo > 0
      ? await serialBuild(ctx, plan.serialBuildTo, plan.firstPort + 20 * plan.standbyCounts.length)
      : undefined;
  return { runs, serial, byHand };
}

async function firstUp(
  ctx: BenchContext,
  standbys: number,
  port: number,
): Promise<ProvisioningRun> {
  return withCluster(ctx, `prb-prov-${standbys}`, port, async (c) => {
    const up = await c.up({ standbys });
    return {
      standbys,
      wallSeconds: up.wallSeconds,
      engineSeconds: up.engineSeconds,
      cloneSeconds: cloneTimings(up.resources).map((t) => t.seconds),
      resources: up.resources,
    };
  });
}

async function serialBuild(ctx: BenchContext, to: number, port: number): Promise<SerialBuild> {
  return withCluster(ctx, "prb-prov-serial", port, async (c) => {
    const stepSeconds: number[] = [];
    const cloneSeconds: number[] = [];
    for (let standbys = 0; standbys <= to; standbys++) {
      const up = await c.up({ standbys });
      stepSeconds.push(up.wallSeconds);
      cloneSeconds.push(...cloneTimings(up.resources).map((t) => t.seconds));
      ctx.note(`  serial build: ${standbys} standbys after ${up.wallSeconds.toFixed(1)}s more`);
    }
    return { stepSeconds, cloneSeconds };
  });
}
