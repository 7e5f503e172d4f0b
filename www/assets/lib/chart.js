// A small SVG chart of a tiered price: the period's total against quantity,
// tier boundaries dashed, the chosen quantity marked. Drawn by the page; the
// points come from the engine.
import { money } from './format.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, text) => {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
};

/**
 * `points`: `[quantity, amount]` in increasing quantity; `bounds`: the tiers'
 * finite `upTo`; `current`: the chosen `[quantity, amount]`; `xTitle` names the
 * quantity (the product), `per` the period the amounts are for ("month").
 */
export function tierChart({ points, bounds, current, currency, title, xTitle = 'Quantity', per = 'period' }) {
  const W = 320, H = 166, L = 8, R = 8, T = 30, B = 34;
  const xMax = Math.max(...points.map((p) => p[0]), 1);
  const yMax = Math.max(...points.map((p) => p[1]), 0) || 1;
  const x = (q) => L + ((W - L - R) * q) / xMax;
  const y = (a) => H - B - ((H - T - B) * a) / yMax;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  root.append(svg('title', {}, title));
  root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  for (const b of bounds.filter((b) => b > 0 && b < xMax)) {
    root.append(svg('line', { x1: x(b), y1: T - 6, x2: x(b), y2: H - B, class: 'tier' }));
    root.append(svg('text', { x: x(b) + 3, y: T + 8, class: 'tier-label' }, `${b}`));
  }
  const d = points.map(([q, a], i) => `${i ? 'L' : 'M'}${x(q).toFixed(1)},${y(a).toFixed(1)}`).join(' ');
  root.append(svg('path', { d, class: 'curve' }));
  // Axes: the quantity along the bottom (its first and last value, its title
  // between), the price per period up the side (its top value, titled).
  root.append(svg('text', { x: L, y: H - 20, class: 'tick' }, String(points[0]?.[0] ?? 0)));
  root.append(svg('text', { x: W - R, y: H - 20, class: 'tick', 'text-anchor': 'end' }, String(xMax)));
  root.append(svg('text', { x: W / 2, y: H - 4, class: 'axis-title', 'text-anchor': 'middle' }, xTitle));
  root.append(svg('text', { x: L, y: 11, class: 'axis-title' }, `Price per ${per}`));
  root.append(svg('text', { x: L, y: T - 6, class: 'tick' }, `${money(yMax, currency)} at ${xMax}`));
  if (current) {
    root.append(svg('circle', { cx: x(Math.min(current[0], xMax)), cy: y(current[1]), r: 4, class: 'current' }));
  }
  return root;
}
