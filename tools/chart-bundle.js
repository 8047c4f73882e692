/* The entry of static/vendor/chart.bundle.min.js, which tools/refresh_vendor.py builds
   with esbuild from the pinned npm packages (never edit the output; change this file and
   re-run the script, which records this file's sha256 in the MANIFEST).

   Only what static/js/charts.js draws with: line charts (a line and its points), linear
   scales (x is seconds, not a time scale: no date adapter), the min-max band (Filler) and
   the tooltip. Chart.js's own legend, title and decimation are not in it: legend.js draws
   the legend in HTML and the server downsamples. A chart asking for anything else
   (another controller, scale or element) fails loudly: "... is not a registered
   controller". Zoom and pan (chartjs-plugin-zoom, Hammer.js) are a second file,
   chart.zoom.min.js (tools/chart-zoom.js), loaded once the charts are drawn. */

import { Chart, Filler, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { _isPointInArea, almostEquals, callback, each, getRelativePosition, sign, valueOrDefault } from 'chart.js/helpers';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip);

// The helpers the zoom plugin imports (tools/chart-zoom-helpers.js hands them to it):
// all are in this bundle anyway, so naming them here costs a few bytes, not a second copy.
Chart.helpers = { _isPointInArea, almostEquals, callback, each, getRelativePosition, sign, valueOrDefault };

// A classic script's global, as the UMD build had: static/js/charts.js is the only reader,
// and the ES modules stay importable in Node (tests/js).
globalThis.Chart = Chart;
