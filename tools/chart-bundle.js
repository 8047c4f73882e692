/* The entry of static/vendor/chart.bundle.min.js, which tools/refresh_vendor.py builds
   with esbuild from the pinned npm packages (never edit the output; change this file and
   re-run the script, which records this file's sha256 in the MANIFEST).

   Only what static/js/charts.js draws with: line charts (a line and its points), linear
   scales (x is seconds, not a time scale: no date adapter), the min-max band (Filler), the
   tooltip, and chartjs-plugin-zoom with Hammer.js for wheel, pinch, drag-box and pan.
   Chart.js's own legend, title and decimation are not in it: legend.js draws the legend
   in HTML and the server downsamples. A chart asking for anything else (another
   controller, scale or element) fails loudly: "... is not a registered controller". */

import { Chart, Filler, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip, zoomPlugin);

// A classic script's global, as the UMD build had: static/js/charts.js is the only reader,
// and the ES modules stay importable in Node (tests/js), where Hammer.js cannot load.
globalThis.Chart = Chart;
