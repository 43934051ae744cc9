import {
  DEFAULT_SETTINGS,
  etcdMembersProblem,
  failoverProblem,
  resolveSettings,
} from "../../components/settings";
import { settingsFromStackConfig } from "../../components/stack-config";
import { errorOf } from "./support/settings-error";

const fromConfig = (values: Record<string, string>) =>
  settingsFromStackConfig((key) => values[key], Object.keys(values));

describe("failover and etcdMembers", () => {
  test("default to manual failover and three etcd members", () => {
    expect(DEFAULT_SETTINGS.failover).toBe("manual");
    expect(DEFAULT_SETTINGS.etcdMembers).toBe(3);
    expect(fromConfig({})).toMatchObject({ failover: "manual", etcdMembers: 3 });
  });

  test("are read from the stack configuration's text", () => {
    expect(fromConfig({ failover: "automatic", etcdMembers: "5" })).toMatchObject({
      failover: "automatic",
      etcdMembers: 5,
    });
  });

  test.each(["manual", "automatic"])("failover %s is allowed", (mode) => {
    expect(failoverProblem(mode)).toBeUndefined();
  });

  test.each([["Automatic"], ["auto"], [""], [1], [undefined]])(
    "failover %p is refused naming the key and both modes",
    (value) => {
      expect(failoverProblem(value)).toBe(
        `failover: ${JSON.stringify(value) ?? String(value)} is not allowed; expected "manual" or "automatic"`,
      );
    },
  );

  test.each([1, 3, 5])("etcdMembers %p is allowed", (count) => {
    expect(etcdMembersProblem(count)).toBeUndefined();
  });

  test.each([[0], [2], [4], [7], [3.5], ["3"], [-1]])(
    "etcdMembers %p is refused naming the key and 1, 3 or 5",
    (value) => {
      expect(etcdMembersProblem(value)).toMatch(
        new RegExp(`^etcdMembers: .* is not allowed; expected 1, 3 or 5`),
      );
    },
  );

  test("bad values stop the program with one message naming each key", () => {
    const error = errorOf(() => fromConfig({ failover: "auto", etcdMembers: "4" }));
    expect(error.problems).toEqual([
      'failover: "auto" is not allowed; expected "manual" or "automatic"',
      "etcdMembers: 4 is not allowed; expected 1, 3 or 5 (1 is for development only)",
    ]);
    expect(() => resolveSettings({ failover: "automatic", etcdMembers: 2 })).toThrow(
      /etcdMembers: 2 is not allowed/,
    );
  });

  test("a text that is not an integer is reported as written", () => {
    expect(errorOf(() => fromConfig({ etcdMembers: "three" })).problems).toEqual([
      'etcdMembers: "three" is not allowed; expected 1, 3 or 5 (1 is for development only)',
    ]);
  });
});
