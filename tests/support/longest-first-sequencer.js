/**
 * Starts the longest live suites first, so that with several workers the short ones fill in
 * beside them instead of leaving one long suite running alone at the end. On a fresh machine jest has
 * no timings of its own to sort by, and its fallback (file size) puts the longest suite last.
 */
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

/** Seconds each suite took in CI on the 2-core machine; the rest are short. */
const KNOWN_SECONDS = {
  "safety.live.test.ts": 870,
  "faults.live.test.ts": 710,
  "scenarios.live.test.ts": 700,
  "automatic.live.test.ts": 360,
  "image-change.live.test.ts": 310,
  "harness.test.ts": 240,
  "restore.live.test.ts": 200,
  "backup.live.test.ts": 130,
  "harness-cli.test.ts": 100,
  "deploy.test.ts": 60,
};

const secondsOf = (test) => KNOWN_SECONDS[path.basename(test.path)] ?? 0;

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    return [...super.sort(tests)].sort((a, b) => secondsOf(b) - secondsOf(a));
  }
}

module.exports = LongestFirstSequencer;
