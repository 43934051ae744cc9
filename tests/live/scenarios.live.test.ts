import { replicaSetScenarios } from "./scenarios";
import { liveScenarioSuite } from "./support/live-suite";

liveScenarioSuite("replica set scenarios", replicaSetScenarios);
