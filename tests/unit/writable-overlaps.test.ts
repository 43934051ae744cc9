import { WritableAnswer, overlappingWrites } from "../live/support/patroni";

const answers = (entries: Record<string, [number, boolean][]>) =>
  new Map<string, WritableAnswer[]>(
    Object.entries(entries).map(([c, list]) => [
      c,
      list.map(([at, writable]) => ({ at, writable })),
    ]),
  );

describe("two writable instances, timed by the servers", () => {
  test("a leader that answered read-only before its successor's first write is no overlap", () => {
    // One sampling round may ask the old leader at 6200 and the new one at 6900.
    const timeline = answers({
      old: [
        [5000, true],
        [6200, true],
        [6500, false],
      ],
      heir: [
        [5100, false],
        [6300, false],
        [6900, true],
      ],
    });
    expect(overlappingWrites(timeline)).toEqual([]);
  });

  test("a writable answer between two writable answers of another instance is an overlap", () => {
    const timeline = answers({
      old: [
        [5000, true],
        [7000, true],
        [7600, false],
      ],
      heir: [[6500, true]],
    });
    expect(overlappingWrites(timeline)).toEqual([{ at: 6500, writable: ["heir", "old"] }]);
  });

  test("a failed query (no answer) does not end a writable span", () => {
    const timeline = answers({ old: [[5000, true]], heir: [[5500, true]] });
    expect(overlappingWrites(timeline)).toEqual([]);
    const spanning = answers({
      old: [
        [5000, true],
        [6000, true],
      ],
      heir: [[5500, true]],
    });
    expect(overlappingWrites(spanning)).toHaveLength(1);
  });
});
