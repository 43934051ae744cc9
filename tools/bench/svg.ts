/** Grouped bar charts as hand-written SVG (pure). */

export interface BarSeries {
  readonly name: string;
  /** One value per category; undefined leaves a gap. */
  readonly values: readonly (number | undefined)[];
}

export interface BarChart {
  readonly title: string;
  /** Label of the value axis, e.g. "seconds". */
  readonly unit: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
}

const WIDTH = 720;
const HEIGHT = 380;
const MARGIN = { left: 70, right: 20, top: 44, bottom: 80 };
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"];
const TICKS = 5;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** The smallest 1, 2 or 5 × 10^k that is at least v (1 for v <= 0). */
export function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= v * (1 - 1e-12)) ?? 10;
  return step * magnitude;
}

/** About three significant digits (at most three decimals), trailing zeros dropped. */
export function shortNumber(v: number): string {
  if (v === 0) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
  return String(Number(v.toFixed(Math.min(digits, 3))));
}

export function barChartSvg(chart: BarChart): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = chart.series.flatMap((s) =>
    s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)),
  );
  const top = niceCeiling(Math.max(0, ...values));
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;
  const groupW = plotW / Math.max(1, chart.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const parts: string[] = [];

  parts.push(
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (let i = 0; i <= TICKS; i++) {
    const v = (top * i) / TICKS;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${shortNumber(v)}</text>`,
    );
  }
  parts.push(
    `<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">${escapeXml(chart.unit)}</text>`,
  );
  chart.categories.forEach((category, ci) => {
    const gx = MARGIN.left + ci * groupW + groupW * 0.1;
    chart.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = gx + si * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${escapeXml(`${s.name}, ${category}: ${shortNumber(v)} ${chart.unit}`)}</title></rect>`,
        `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${shortNumber(v)}</text>`,
      );
    });
    parts.push(
      `<text x="${(MARGIN.left + (ci + 0.5) * groupW).toFixed(1)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" font-size="12">${escapeXml(category)}</text>`,
    );
  });
  parts.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`,
  );
  // Legend rows under the plot; a series whose label would not fit starts a new row.
  let legendY = HEIGHT - 44;
  let lx = MARGIN.left;
  for (const [si, s] of chart.series.entries()) {
    const w = 28 + s.name.length * 7;
    if (lx > MARGIN.left && lx + w > WIDTH - MARGIN.right) {
      lx = MARGIN.left;
      legendY += 18;
    }
    parts.push(
      `<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[si % COLORS.length]}"/>`,
      `<text x="${lx + 16}" y="${legendY}" font-size="12">${escapeXml(s.name)}</text>`,
    );
    lx += w;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
