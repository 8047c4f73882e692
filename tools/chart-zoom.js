/* The entry of static/vendor/chart.zoom.min.js (built by tools/refresh_vendor.py, as
   chart.bundle.min.js is): chartjs-plugin-zoom and Hammer.js for wheel, pinch, drag-box
   and pan, registered on the Chart global of chart.bundle.min.js, which must run first.
   static/js/charts.js loads it once the first charts are drawn (loadZoom): the first
   picture does not wait for its 13 KiB, and every chart takes it up at its next update. */

import zoomPlugin from 'chartjs-plugin-zoom';

globalThis.Chart.register(zoomPlugin);
