/**
 * The outage around a role change from the client's side (pure): the time from the last
 * acknowledged insert on the old timeline to the first on a newer one. The timeline of each
 * row is read back from the table, because WriteLoad's own per-row timeline is NaN: psql
 * prints the `INSERT 0 1` status line after the returned value, so `Number(stdout)` fails.
 */
export interface AckedWrite {
  readonly seq: number;
  readonly doneAt: number;
}

export function timelineSwitchGapMs(
  acks: readonly AckedWrite[],
  timelineOf: ReadonlyMap<number, number>,
): number | undefined {
  const known = acks.filter((a) => timelineOf.has(a.seq)).sort((a, b) => a.doneAt - b.doneAt);
  for (let i = 1; i < known.length; i++) {
    if (timelineOf.get(known[i].seq)! > timelineOf.get(known[i - 1].seq)!) {
      return known[i].doneAt - known[i - 1].doneAt;
    }
  }
  return undefined;
}

/** `seq|timeline` lines (psql -A -t) as a map. */
export function parseTimelines(rows: string): Map<number, number> {
  const map = new Map<number, number>();
  for (const line of rows.split("\n")) {
    const [seq, timeline] = line.split("|").map(Number);
    if (Number.isFinite(seq) && Number.isFinite(timeline)) map.set(seq, timeline);
  }
  return map;
}
