/**
 * Starts the longest live suites first, so that with several workers the short ones fill in
 * beside them instead of leaving one long suite running alone at the end. On a fresh machine jest has
 * no timings of its own to sort by, and its fallback (file size) puts the longest suite last.
 */
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

/** Seconds each suite took in CI on the 2-core machine; the rest are short. */
const KNOWN_SECONDS = {
  "scenarios.live.test.ts": 800,
  "safety.live.test.ts": 600,
  "faults.live.test.ts": 700,
  "automatic.live.test.ts": 400,
  "backup.live.test.ts": 250,
  "image-change.live.test.ts": 400,
  "restore.live.test.ts": 500,
  "harness.test.ts": 130,
};

const secondsOf = (test) => KNOWN_SECONDS[path.basename(test.path)] ?? 0;

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    return [...super.sort(tests)].sort((a, b) => secondsOf(b) - secondsOf(a));
  }
}

module.exports = LongestFirstSequencer;
