import { dockerUnavailableReason } from "../support/docker";
import { LiveDeployment } from "./drivers/live-driver";
import { replicaSetScenarios } from "./scenarios";

// Under CI the scenarios must run: a missing engine or image is a failure, not a skip.
const unavailable = dockerUnavailableReason();
if (unavailable && process.env.CI !== "true") {
  process.stderr.write(`Skipping the live-harness scenarios: ${unavailable}\n`);
}

(unavailable && process.env.CI !== "true" ? describe.skip : describe)(
  "replica set scenarios (live harness)",
  () => {
    beforeAll(() => {
      if (unavailable) throw new Error(`live scenarios cannot run under CI: ${unavailable}`);
    });
    replicaSetScenarios({
      tag: "live",
      basePort: 15600,
      create: (stack) => new LiveDeployment({ stack }),
    });
  },
);
