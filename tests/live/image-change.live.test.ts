import { imageChangeScenarios } from "./image-change";
import { liveScenarioSuite } from "./support/live-suite";

liveScenarioSuite("image change scenarios", imageChangeScenarios);
