import { LiveDeployment } from "./drivers/live-driver";
import { replicaSetScenarios } from "./scenarios";
import { liveSuiteGate } from "./support/faults";

// Under CI the scenarios must run: a missing engine or image is a failure, not a skip.
const { describeLive, unavailable } = liveSuiteGate("the live-harness scenarios");

describeLive("replica set scenarios (live harness)", () => {
  beforeAll(() => {
    if (unavailable) throw new Error(`live scenarios cannot run under CI: ${unavailable}`);
  });
  replicaSetScenarios({
    tag: "live",
    basePort: 15600,
    create: (stack) => new LiveDeployment({ stack }),
  });
});
