const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  /** CSS class of the line (its colour comes from app.css). */
  className: string;
  values: number[];
  /** Plot against the right-hand axis (its own scale). */
  right?: boolean;
}

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round axis maximum at least `floor` (4 for counts, so that quarter steps are whole numbers). */
function niceMax(values: number[], floor: number): number {
  const max = Math.max(floor, ...values);
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / step) * step;
}

/**
 * A small line chart as inline SVG: `slots` points wide, lines for each series, a left axis for the
 * series without `right` and a right axis for the others. Redrawn whole on each update.
 */
export function renderChart(container: HTMLElement, series: Series[], slots: number): void {
  const width = 800;
  const height = 180;
  const pad = { left: 44, right: 44, top: 10, bottom: 18 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const leftMax = niceMax(
    series.filter((s) => !s.right).flatMap((s) => s.values),
    1,
  );
  const rightMax = niceMax(
    series.filter((s) => s.right).flatMap((s) => s.values),
    4,
  );
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img' });
  svg.setAttribute('aria-label', 'pushes and deliveries per second, pending backlog');
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + (plotH * i) / 4;
    svg.append(el('line', { class: 'grid-line', x1: pad.left, x2: pad.left + plotW, y1: y, y2: y }));
    svg.append(el('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end' }, fmt((leftMax * (4 - i)) / 4)));
    if (series.some((s) => s.right)) {
      svg.append(el('text', { x: pad.left + plotW + 6, y: y + 4 }, fmt((rightMax * (4 - i)) / 4)));
    }
  }
  svg.append(el('text', { x: pad.left, y: height - 3 }, `${slots * 2} s ago`));
  svg.append(el('text', { x: pad.left + plotW, y: height - 3, 'text-anchor': 'end' }, 'now'));
  for (const s of series) {
    const max = s.right ? rightMax : leftMax;
    const offset = slots - s.values.length;
    const points = s.values.map((v, i) => {
      const x = pad.left + (plotW * (offset + i)) / Math.max(1, slots - 1);
      const y = pad.top + plotH - (plotH * Math.min(v, max)) / max;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (points.length > 0) {
      svg.append(
        el('polyline', {
          class: s.className,
          points: points.join(' '),
          fill: 'none',
          'stroke-width': 2,
          'vector-effect': 'non-scaling-stroke',
        }),
      );
    }
  }
  container.replaceChildren(svg);
}

function fmt(n: number): string {
  return n >= 1000 ? `${Math.round(n / 100) / 10}k` : String(Math.round(n * 100) / 100);
}
