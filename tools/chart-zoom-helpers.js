/* Stands in for `chart.js/helpers` when tools/refresh_vendor.py builds chart.zoom.min.js
   (esbuild --alias): the zoom plugin gets the helpers chart.bundle.min.js already holds
   (tools/chart-bundle.js puts them on Chart.helpers) instead of a second copy. A helper
   missing here fails the build ("No matching export"), not the page. */

const helpers = globalThis.Chart.helpers;

export const { _isPointInArea, almostEquals, callback, each, getRelativePosition, sign, valueOrDefault } = helpers;
