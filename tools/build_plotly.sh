#!/usr/bin/env bash
# Rebuilds the vendored browser files under assets/ from npm, reproducibly (pinned versions):
#   assets/deferred/plotly-citydash.min.js  plotly.js core + the trace types citydash draws (see TRACES)
#   assets/deferred/plotly-locale-*.js      plotly.js's locale files for es, nl and pt (copied as shipped)
#   assets/deferred/plotly-charts.min.js    plotly.js core + CHART_TRACES: the indicator pages' charts, no map
#   assets/regenerator-runtime.min.js       the one piece of @babel/polyfill Dash's async components call
# Dash's full plotly.min.js is 4.8 MB (1.44 MB gzipped); the map bundle is ~3.0 MB (~0.9 MB gzipped; maplibre-gl
# is most of it), the charts bundle ~1.1 MB (~0.4 MB gzipped). Each is loaded only when a slot that needs it comes
# into view (assets/citydash.js).
# Usage: tools/build_plotly.sh [WORKDIR]   (WORKDIR defaults to a temporary folder; needs node and npm)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
PLOTLY_VERSION=4.1.1          # the plotly.js that the installed plotly.py ships (plotly.offline.get_plotlyjs_version())
ESBUILD_VERSION=0.28.2
REGENERATOR_VERSION=0.14.1
# Keep in sync with dashboard/ui/figures.py: tests/dashboard/test_speed.py checks every trace type we draw is here.
TRACES="bar scattermap choroplethmap"
LOCALES="es nl pt-br"          # plotly.js locale files copied as shipped (dashboard/i18n.py PLOTLY_LOCALES)
CHART_TRACES="bar"            # what dashboard/pages/indicator.py draws (scatter is in core); test_frontend.py checks

npm install --silent --no-audit --no-fund --prefix "$work" "plotly.js@$PLOTLY_VERSION" "esbuild@$ESBUILD_VERSION" \
  "regenerator-runtime@$REGENERATOR_VERSION" >/dev/null
entry() {  # entry() FILE TRACES...: a bundle entry point with plotly.js core and these trace types
  local file=$1; shift
  {
    echo "var Plotly = require('plotly.js/lib/core');"
    echo "Plotly.register(["
    for t in "$@"; do echo "  require('plotly.js/lib/$t'),"; done
    echo "]);"
    echo "module.exports = Plotly;"
  } > "$file"
}
entry "$work/entry.js" $TRACES
entry "$work/entry-charts.js" $CHART_TRACES
mkdir -p "$root/assets/deferred"
# esbuild with one small plugin: maplibre's stylesheet is injected by the bundle as a <style> (as plotly.js's own
# builds do), so the map is styled without another file.
cat > "$work/build.js" <<JS
const fs = require("fs");
const esbuild = require("esbuild");
const inlineCss = { name: "inline-css", setup(b) {
  b.onLoad({ filter: /\\.css\$/ }, async (args) => {
    const css = (await esbuild.transform(fs.readFileSync(args.path, "utf8"), { loader: "css", minify: true })).code;
    return { loader: "js", contents: "var s=document.createElement('style');s.textContent=" + JSON.stringify(css) +
      ";document.head.appendChild(s);" };
  });
} };
const [entry, outfile, traces, extra] = process.argv.slice(2);
esbuild.build({ entryPoints: [entry], bundle: true, minify: true, format: "iife", globalName: "Plotly",
  define: { global: "window", "define.amd": "false" }, target: "es2020", legalComments: "none", logLevel: "warning",
  banner: { js: "/* plotly.js $PLOTLY_VERSION (MIT, https://github.com/plotly/plotly.js) partial bundle: core + " + traces +
                ";" + extra + " Built by tools/build_plotly.sh */" },
  plugins: [inlineCss], outfile }).catch(() => process.exit(1));
JS
(cd "$work" && node build.js entry.js "$root/assets/deferred/plotly-citydash.min.js" "$TRACES" \
  " includes maplibre-gl (BSD-3-Clause).")
(cd "$work" && node build.js entry-charts.js "$root/assets/deferred/plotly-charts.min.js" "$CHART_TRACES" "")
(cd "$work" && node_modules/.bin/esbuild node_modules/regenerator-runtime/runtime.js --minify --format=iife \
  --target=es2020 --log-level=warning \
  --banner:js="/* regenerator-runtime $REGENERATOR_VERSION (MIT, https://github.com/facebook/regenerator). Built by tools/build_plotly.sh */" \
  --outfile="$root/assets/regenerator-runtime.min.js")
# plotly.js's own locale files for the languages citydash speaks besides English (dashboard/i18n.py PLOTLY_LOCALES),
# copied as plotly.js ships them: month and day names on the charts' date axes.
for loc in $LOCALES; do cp "$work/node_modules/plotly.js/dist/plotly-locale-$loc.js" "$root/assets/deferred/"; done
ls -l "$root/assets/deferred/" "$root/assets/regenerator-runtime.min.js"
