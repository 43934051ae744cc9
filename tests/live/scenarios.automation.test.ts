import { automaticScenarios } from "./automatic";
import { AutomationDeployment, automationUnavailableReason } from "./drivers/automation-driver";
import { imageChangeScenarios } from "./image-change";
import { replicaSetScenarios, safetyScenarios } from "./scenarios";

// Runs wherever the Pulumi CLI and Docker exist; elsewhere (this project's CI among them: no
// CLI can be installed there) it says why it skips.
const unavailable = automationUnavailableReason();
// Written straight to stderr: jest drops console output of a suite whose tests all skip.
if (unavailable) process.stderr.write(`Skipping the Automation API scenarios: ${unavailable}\n`);

(unavailable ? describe.skip : describe)("replica set scenarios (Automation API)", () => {
  const driver = {
    tag: "auto",
    basePort: 15700,
    create: (stack: string) => new AutomationDeployment(stack),
  };
  replicaSetScenarios(driver);
  safetyScenarios(driver);
  imageChangeScenarios(driver);
  // A name and ports of its own, next to the live harness's pra-auto (16300-16321).
  automaticScenarios(driver, { name: "pra-auto-api", hostPort: 16340, endpointPort: 16360 });
});
