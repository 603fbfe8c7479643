#!/usr/bin/env bash
# Integration: the HTML pages render in a real browser (headless Chromium, Debian `chromium`).
#   - a real run (two scenarios for 4 s against the sample app: 3 Node socket.io 4 replicas
#     behind the sticky HAProxy, 127.0.0.1 only) written with `replay --html`, and the same
#     report again through `report --html`;
#   - the timeline of the bundled Chromium HAR written with `record --html`.
# Each page is loaded with --dump-dom (the DOM after the scripts ran) and --screenshot: the page
# must have set data-rendered="1" and recorded no script error (window.onerror writes them to
# data-errors), its charts must have drawn (polylines of more than one point / one circle per
# message and the ack links), and the screenshot must be a 1366x900 PNG that is not blank.
# Exit 77 (skipped) only when Chromium cannot start.
#
#   tests/integration/html_chromium.sh SIOREPLAY_BINARY [--keep DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init html "$1"
keep=""
[ "${2:-}" = "--keep" ] && keep=$3
failures=0
sio_on_exit() {
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$work"/*.html "$work"/*.png "$keep"/ 2>/dev/null || true; fi
}

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "html_chromium: SKIPPED: chromium is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
# Chromium wants a writable home for its profile; keep it inside the scratch folder.
export HOME="$work/home"
mkdir -p "$HOME"
browser() { # browser ARGS... : headless Chromium, no network beyond file://
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --disable-extensions --hide-scrollbars \
    --run-all-compositor-stages-before-draw \
    --user-data-dir="$work/profile" "$@" 2>>"$work/chromium.log"
}
if ! browser --dump-dom "data:text/html,<p>ok</p>" >"$work/probe.html" || ! grep -q "<p>ok</p>" "$work/probe.html"; then
  echo "html_chromium: SKIPPED: chromium cannot start here:"
  tail -5 "$work/chromium.log"
  exit 77
fi

sio_cluster_start 5700 5990

cat >"$work/html.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  timeout: 5
  phases:
    - name: warm-up
      duration: 2
      arrivalRate: 4
    - name: steady
      duration: 2
      arrivalRate: 8
scenarios:
  - name: chat
    weight: 3
    engine: socketio
    flow:
      - waitFor: { on: "welcome" }
      - emit: ["echo", "hello"]
        acknowledge: {}
      - think: "300ms"
      - emit: ["request-server-events", { count: 2 }]
        response:
          on: "tick"
          data: { n: 2, of: 2 }
      - emit: ["echo", "again"]
        acknowledge: {}
  - name: impatient
    weight: 1
    engine: socketio
    flow:
      - waitFor:
          on: "never-sent"
        timeout: "300ms"
YAML
rc=0
timeout 120 "$sioreplay" replay "$work/html.yml" -q -o "$work/report.json" --html "$work/report.html" \
  >"$work/replay.log" 2>&1 || rc=$?
echo "== replay --html (exit $rc)"
[ "$rc" -eq 0 ] || { echo "  FAIL  replay exited $rc"; failures=$((failures + 1)); }
rc=0
"$sioreplay" report "$work/report.json" --html "$work/again.html" >"$work/report.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { echo "  FAIL  report --html exited $rc"; failures=$((failures + 1)); }
rc=0
"$sioreplay" record "$root/samples/har/a2/devtools.har" -q -o "$work/rec.jsonl" --html "$work/timeline.html" \
  >"$work/record.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { echo "  FAIL  record --html exited $rc"; failures=$((failures + 1)); }

render() { # render NAME: NAME.html -> NAME.dom.html, NAME.png
  browser --virtual-time-budget=5000 --dump-dom "file://$work/$1.html" >"$work/$1.dom.html" || true
  browser --virtual-time-budget=5000 --window-size=1366,900 --screenshot="$work/$1.png" \
    "file://$work/$1.html" >/dev/null || true
}
for page in report again timeline; do
  [ -f "$work/$page.html" ] && render "$page"
done

check() { # check PAGE KIND: node checks of the dumped DOM and the screenshot
  node - "$work/$1.dom.html" "$work/$1.png" "$2" "$work/report.json" <<'JS' || failures=$((failures + 1))
const fs = require("fs"), zlib = require("zlib");
const [domPath, pngPath, kind, reportPath] = process.argv.slice(2);
let bad = 0;
const ok = (cond, what) => { console.log(`  ${cond ? "ok  " : "FAIL"}  ${kind}: ${what}`); if (!cond) bad++; };
const dom = fs.existsSync(domPath) ? fs.readFileSync(domPath, "utf8") : "";
const root = (/<html[^>]*>/.exec(dom) || [""])[0];
ok(/data-rendered="1"/.test(root), "the script ran to its end (data-rendered)");
const errors = /data-errors="([^"]*)"/.exec(root);
ok(!errors, "no script error" + (errors ? ": " + errors[1] : ""));
if (kind === "report") {
  const polylines = [...dom.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map(m => m[1].trim().split(/\s+/).length);
  const charts = +((/data-charts="(\d+)"/.exec(root) || [0, 0])[1]);
  ok(polylines.length >= 10 && polylines.every(n => n > 1),
     `${polylines.length} polylines drawn, each of more than one point (${polylines.join(",")})`);
  const r = JSON.parse(fs.readFileSync(reportPath));
  const s = r.aggregate.summaries;
  const expected = ["engineio.handshake_time", "engineio.upgrade_time", "socketio.connect_time",
                    "socketio.ack_time", "socketio.response_time"].filter(k => s[k]);
  ok(expected.length === 5, "the run measured handshake, upgrade, connect, ack and response");
  // users, throughput, 5+ latency charts, errors by cause, arrivals by scenario
  ok(charts >= 2 + expected.length + 2, `${charts} charts (users, throughput, latencies, errors, scenarios)`);
  for (const title of ["Users", "Throughput", "Emit → ack latency", "Errors by cause", "Arrivals by scenario"])
    ok(dom.includes(`data-chart="${title}"`), `chart "${title}"`);
  ok(/<td[^>]*>errors\.timeout\.wait_for<\/td>/.test(dom), "errors table names errors.timeout.wait_for");
  ok(dom.includes(">impatient<") && dom.includes(">chat<"), "per-scenario rows");
  ok(dom.includes(">warm-up<") && dom.includes(">steady<"), "the phases");
  ok(/<pre class="cmd" id="command">[^<]*replay [^<]*--html/.test(dom), "the command line");
} else {
  const circles = (dom.match(/<circle /g) || []).length;
  const links = (dom.match(/<path class="ack-link"/g) || []).length;
  ok(circles === 62, `${circles} message markers (the recording's 62 messages)`);
  ok(links >= 9, `${links} ack links drawn`);
  ok(/acked by #\d+/.test(dom) && /ack of #\d+/.test(dom), "the table links acks and emits");
}
// The screenshot: a PNG of the window's size whose pixels are not all alike.
let png = Buffer.alloc(0);
try { png = fs.readFileSync(pngPath); } catch (e) {}
const isPng = png.length > 24 && png.readUInt32BE(0) === 0x89504e47;
ok(isPng && png.readUInt32BE(16) === 1366 && png.readUInt32BE(20) === 900,
   `screenshot is a 1366x900 PNG (${png.length} bytes)`);
if (isPng) {
  const idat = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at), type = png.toString("latin1", at + 4, at + 8);
    if (type === "IDAT") idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const values = new Set();
  for (let i = 0; i < raw.length; i += 97) values.add(raw[i]);
  ok(png.length > 20000 && values.size > 16, `screenshot is not blank (${values.size} distinct sampled bytes)`);
}
process.exit(bad ? 1 : 0);
JS
}
check report report
check again report
check timeline timeline

if [ "$failures" -ne 0 ]; then
  echo "html_chromium: $failures check(s) failed; logs:"
  for f in "$work"/*.log; do echo "--- $f"; tail -20 "$f"; done
  exit 1
fi
echo "html_chromium: all checks passed"
