/* The kiosk: every card in one grid that fills the screen, whatever the number of sensors
   (1 to a dozen) and the screen (1080p, a 7" 800 x 480 Pi display). kioskGrid is pure. */

import { $, PAGE, setGrid } from './dom.js';

const ASPECT = 1.6;  // a card's content reads best a little wider than tall

/** Columns and rows for n cards in a w x h area: the layout whose cards hold the largest
    box of the content's aspect; among equals, the fewest empty cells. */
export function kioskGrid(n, w, h, gap = 0) {
  let best = { cols: 1, rows: 1, size: -1, empty: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(Math.max(1, n) / cols);
    const cw = (w - gap * (cols - 1)) / cols, ch = (h - gap * (rows - 1)) / rows;
    const size = Math.min(cw, ch * ASPECT);
    const empty = cols * rows - n;
    if (size > best.size + 0.5 || (Math.abs(size - best.size) <= 0.5 && empty < best.empty)) {
      best = { cols, rows, size, empty };
    }
  }
  return { cols: best.cols, rows: best.rows };
}

/** Lay the cards out for the space the grid has now. */
export function layoutKiosk() {
  const main = $(PAGE.rooms);
  const n = main.querySelectorAll('.card').length;
  const gap = parseFloat(getComputedStyle(main).rowGap) || 0;
  const { cols, rows } = kioskGrid(n, main.clientWidth, main.clientHeight, gap);
  setGrid(cols, rows);
}

/** Keep the grid fitted as the window, the banners or the sensors change. */
export function watchKiosk() {
  const main = $(PAGE.rooms);
  new ResizeObserver(() => layoutKiosk()).observe(main);
  layoutKiosk();
}
