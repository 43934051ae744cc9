import { safetyScenarios } from "./scenarios";
import { liveScenarioSuite } from "./support/live-suite";

liveScenarioSuite("replica set safety scenarios", safetyScenarios);
