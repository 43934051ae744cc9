/** Two projects: `unit` runs anywhere (Pulumi mocks only); `live` needs a Docker engine. */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleFileExtensions: ["ts", "js", "json"],
};

// `--selectProjects` takes every following word as a project name, so
// `jest --selectProjects live tests/x.test.ts` silently runs the whole live suite (half an hour).
const selectAt = process.argv.indexOf("--selectProjects");
const swallowed = selectAt < 0 ? undefined : process.argv[selectAt + 2];
if (swallowed !== undefined && /[/.]/.test(swallowed)) {
  throw new Error(
    `jest: "${swallowed}" was taken as a project name by --selectProjects; ` +
      `put test files first: npx jest ${swallowed} --selectProjects ${process.argv[selectAt + 1]}`,
  );
}

module.exports = {
  testSequencer: "<rootDir>/tests/support/longest-first-sequencer.js",
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    {
      ...common,
      displayName: "live",
      testMatch: ["<rootDir>/tests/live/**/*.test.ts", "<rootDir>/tests/image/**/*.test.ts"],
    },
  ],
};
