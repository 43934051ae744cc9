/**
 * The baseline: the tutorial's steps typed by hand as a bare script (bench/tutorial-by-hand.sh),
 * same image, run in the same benchmark run as the `up`s it is compared with.
 */
import * as os from "os";
import * as path from "path";
import { run } from "../../tests/support/docker";
import { BenchContext, liveClusters } from "./cluster";
import { HandRun } from "./types";

const SCRIPT = path.resolve(__dirname, "../../bench/tutorial-by-hand.sh");
const NAME = "prb-hand";

/** Pause between two checks of the script's waits: as people write it, `sleep 1`. */
export const HAND_POLL_SECONDS = 1;
/** The same script polling ten times a second: the strictest baseline, reported beside it. */
export const TIGHT_POLL_SECONDS = 0.1;

/** One run of the script (`up`, then always `down`), timed by the script itself. */
export async function tutorialByHand(
  ctx: BenchContext,
  hostPort: number,
  pollSeconds: number = HAND_POLL_SECONDS,
): Promise<HandRun> {
  const env = {
    NAME,
    IMAGE: ctx.image,
    HOST_PORT: String(hostPort),
    WORK_DIR: path.join(os.tmpdir(), NAME),
    POLL_SECONDS: String(pollSeconds),
  };
  // Its Docker objects carry the cluster label: an interrupt removes them like a cluster's.
  liveClusters.add(NAME);
  try {
    const { stdout } = await run("bash", [SCRIPT, "up"], { env, timeoutMs: 5 * 60_000 });
    return { ...parseHandOutput(stdout), pollSeconds };
  } finally {
    await run("bash", [SCRIPT, "down"], { env, allowFailure: true });
    liveClusters.delete(NAME);
  }
}

/** The script's "step: NAME N s" lines and its "tutorial by hand: N s" total (pure). */
export function parseHandOutput(stdout: string): Omit<HandRun, "pollSeconds"> {
  const steps: { name: string; seconds: number }[] = [];
  let seconds: number | undefined;
  for (const line of stdout.split("\n")) {
    const step = /^step: (.+) (\d+(?:\.\d+)?) s$/.exec(line);
    if (step) steps.push({ name: step[1], seconds: Number(step[2]) });
    const total = /^tutorial by hand: (\d+(?:\.\d+)?) s$/.exec(line);
    if (total) seconds = Number(total[1]);
  }
  if (seconds === undefined) throw new Error(`tutorial-by-hand.sh printed no total:\n${stdout}`);
  return { seconds, steps };
}
