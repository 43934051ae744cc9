import { LiveDeployment } from "../drivers/live-driver";
import type { ScenarioDriver } from "../scenarios";
import { liveSuiteGate } from "./faults";

/**
 * A suite of scenarios run by the live harness. Under CI the scenarios must run: a missing
 * engine or image is a failure, not a skip.
 */
export function liveScenarioSuite(title: string, register: (driver: ScenarioDriver) => void): void {
  const { describeLive, unavailable } = liveSuiteGate(`the live-harness ${title}`);
  describeLive(`${title} (live harness)`, () => {
    beforeAll(() => {
      if (unavailable) throw new Error(`live ${title} cannot run under CI: ${unavailable}`);
    });
    register({ tag: "live", basePort: 15600, create: (stack) => new LiveDeployment({ stack }) });
  });
}
