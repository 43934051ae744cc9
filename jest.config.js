/** Two projects: `unit` runs anywhere (Pulumi mocks only); `live` needs a Docker engine. */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleFileExtensions: ["ts", "js", "json"],
};

module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    {
      ...common,
      displayName: "live",
      testMatch: ["<rootDir>/tests/live/**/*.test.ts", "<rootDir>/tests/image/**/*.test.ts"],
    },
  ],
};
