import { parseHandOutput } from "../../tools/bench/by-hand";
import { goalRows } from "../../tools/bench/summary";
import { HandRun, ProvisioningResult, ProvisioningRun } from "../../tools/bench/types";

const up = (standbys: number, engineSeconds: number): ProvisioningRun => ({
  standbys,
  wallSeconds: engineSeconds + 2,
  engineSeconds,
  cloneSeconds: [],
  resources: [],
});
const hand = (seconds: number, pollSeconds = 1): HandRun => ({ seconds, pollSeconds, steps: [] });

describe("bench goals", () => {
  test("compares medians: 1 + 1 against the script by hand, 1 + 5 against 1 + 1", () => {
    const p: ProvisioningResult = {
      runs: [up(0, 5), up(1, 10), up(1, 12), up(1, 30), up(5, 13), up(5, 14), up(5, 15)],
      byHand: [hand(9), hand(10), hand(11), hand(8, 0.1)],
    };
    const [vsHand, scaling, tight] = goalRows(p);
    expect(vsHand).toMatchObject({ measuredSeconds: 12, referenceSeconds: 10, goal: 1.1 });
    expect(vsHand.ratio).toBeCloseTo(1.2);
    expect(scaling).toMatchObject({ measuredSeconds: 14, referenceSeconds: 12, goal: 1.3 });
    expect(scaling.ratio).toBeCloseTo(14 / 12);
    expect(tight).toMatchObject({ referenceSeconds: 8, referenceRuns: 1 });
    expect(Number.isFinite(tight.goal)).toBe(false);
  });

  test("no row without both sides", () => {
    expect(goalRows({ runs: [up(1, 10)], byHand: [] })).toEqual([]);
  });

  test("reads the script's steps and total, and refuses output without a total", () => {
    const out =
      "step: primary container 0.51 s\nstep: standby streams 1.20 s\ntutorial by hand: 8.66 s\n";
    expect(parseHandOutput(out)).toEqual({
      seconds: 8.66,
      steps: [
        { name: "primary container", seconds: 0.51 },
        { name: "standby streams", seconds: 1.2 },
      ],
    });
    expect(() => parseHandOutput("step: primary container 0.51 s\n")).toThrow(/no total/);
  });
});
