import { automaticScenarios } from "./automatic";
import { liveScenarioSuite } from "./support/live-suite";

liveScenarioSuite("automatic failover scenario", (driver) =>
  automaticScenarios(driver, { name: "pra-auto", hostPort: 16300, endpointPort: 16320 }),
);
