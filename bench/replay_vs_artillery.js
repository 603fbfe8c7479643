#!/usr/bin/env node
// Summarizer for bench/replay_vs_artillery.sh: reads each run's files, prints the table and the
// ratios, writes the results JSON, checks that the numbers can be trusted (exit 1 if not).
//
//   node bench/replay_vs_artillery.js RUNS.tsv OUT.json PARAMS_JSON SIOREPLAY_VERSION
//
// RUNS.tsv: "MODE TOOL DIR EMITS_PER_USER" lines (MODE baseline: 1 user; MODE X-1emit: the
// marginal-cost companion of X); DIR holds rc, time.txt (GNU time "%e %U %S %M"), sample.json
// (bench/tree_sampler.js), report.json (the tool's -o report), stats.json (cluster.sh stats).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const [manifest, outPath, paramsJson, sioVersion] = process.argv.slice(2);
const params = process.argv[2] === "--passed" ? {} : JSON.parse(paramsJson);
const root = path.resolve(__dirname, "..");
const readJson = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")); } catch { return null; } };
const sum = (o) => Object.values(o || {}).reduce((a, v) => a + (typeof v === "number" ? v : sum(v)), 0);

// --passed DIR USERS EMITS_PER_USER THINK_MS PHASE_S: exit 0 when that one run kept its
// schedule with 0 failures (the sweep asks this after each Artillery run, to stop at its first
// failing rate); the reason on stderr otherwise.
if (process.argv[2] === "--passed") {
  const [dir, users, perUser, thinkMs, phase] = process.argv.slice(3);
  const r = loadRun("sweep", "artillery", dir, perUser);
  r.phase_s = Number(phase);
  const why = sweepFailure(r, Number(users), Number(thinkMs));
  if (why) console.error(`  artillery failed: ${why}`);
  process.exit(why ? 1 : 0);
}

// Why a sweep run does not count as "held this rate with 0 failures", or null when it does:
// exit code, failed or unfinished users, fewer users or emits than asked, a stretched phase
// (the tool fell behind its arrival schedule).
function sweepFailure(r, expectedUsers, think_ms) {
  if (r.rc !== 0) return `exit code ${r.rc}`;
  if (!r.report_written) return "no report";
  if (r.failed) return `${r.failed} users failed ${JSON.stringify(r.errors)}`;
  if (r.completed !== r.created) return `completed ${r.completed} of ${r.created} users`;
  if (r.created < expectedUsers) return `created ${r.created} of ${expectedUsers} users`;
  if (r.emits !== r.created * r.emits_per_user) return `${r.emits} emits for ${r.created} users`;
  if (think_ms !== null && r.wall_s > r.phase_s + ((r.emits_per_user - 1) * think_ms) / 1000 + 15)
    return `took ${r.wall_s} s: fell behind the arrivals`;
  return null;
}

function loadRun(mode, tool, dir, emitsPerUser, rate) {
  const r = { mode, tool, dir, emits_per_user: Number(emitsPerUser) };
  if (rate) r.rate = Number(rate);
  r.rc = Number(fs.readFileSync(path.join(dir, "rc"), "utf8").trim());
  // GNU time writes "Command exited with non-zero status N" before the format line on failure
  const tl = fs.readFileSync(path.join(dir, "time.txt"), "utf8").trim().split("\n").pop().split(/\s+/).map(Number);
  r.wall_s = tl[0];
  r.cpu_user_s = tl[1];
  r.cpu_sys_s = tl[2];
  r.cpu_s = +(tl[1] + tl[2]).toFixed(2);
  r.max_rss_single_process_mb = +(tl[3] / 1024).toFixed(1);
  const s = readJson(path.join(dir, "sample.json")) || { tree: {}, named: {} };
  r.peak_rss_tree_mb = +((s.tree.peak_rss_bytes || 0) / 1048576).toFixed(1);
  r.tree_processes = (s.tree.processes || []).map((p) => p.comm);
  r.cpu_s_sampled = s.tree.cpu_s_sampled;
  r.server = {};
  let serverCpu = 0, busiest = 0;
  for (const [n, v] of Object.entries(s.named || {})) {
    r.server[n] = { cpu_s: v.cpu_s === null ? null : +v.cpu_s.toFixed(2), avg_pct: v.avg_pct === null ? null : +v.avg_pct.toFixed(0),
                    peak_1s_pct: +v.peak_1s_pct.toFixed(0) };
    serverCpu += v.cpu_s || 0;
    if (n !== "haproxy") busiest = Math.max(busiest, v.peak_1s_pct);
  }
  r.server_cpu_s = +serverCpu.toFixed(2);
  r.busiest_replica_peak_1s_pct = +busiest.toFixed(0);
  // everything else the machine ran meanwhile (other users' jobs; this sampler included)
  r.machine_busy_cpu_s = +(s.machine_busy_cpu_s || 0).toFixed(2);
  r.other_cpu_s = +Math.max(0, r.machine_busy_cpu_s - (s.tree.cpu_s_sampled || 0) - serverCpu).toFixed(2);
  r.server_peak_1s_pct_total = +(s.named_total_peak_1s_pct || 0).toFixed(0);
  const rep = readJson(path.join(dir, "report.json"));
  r.report_written = !!rep;
  const c = (rep && rep.aggregate && rep.aggregate.counters) || {};
  const sm = (rep && rep.aggregate && rep.aggregate.summaries) || {};
  r.created = c["vusers.created"] || 0;
  r.completed = c["vusers.completed"] || 0;
  r.failed = c["vusers.failed"] || 0;
  r.emits = c["socketio.emit"] || 0;
  r.errors = Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith("errors.")));
  const lat = tool === "sioreplay" ? sm["socketio.ack_time"] || sm["socketio.response_time"] : sm["socketio.response_time"];
  r.latency_metric = tool === "sioreplay" ? (sm["socketio.ack_time"] ? "socketio.ack_time" : "socketio.response_time") : "socketio.response_time";
  r.latency = lat ? { count: lat.count, p50: lat.p50, p99: lat.p99, max: lat.max } : null;
  r.session_length_p50_ms = sm["vusers.session_length"] ? sm["vusers.session_length"].p50 : null;
  const st = readJson(path.join(dir, "stats.json"));
  const t = (st && st.total) || {};
  r.server_received = sum(t.events);
  r.server_acks = sum(t.acks);
  r.server_connections = sum(t.connections);
  r.server_upgrades = (t.engine || {}).upgrades || 0;
  r.server_session_id_unknown = (t.engine || {}).sessionIdUnknown || 0;
  r.per_replica_received = Object.fromEntries(Object.entries((st && st.replicas) || {}).map(([n, v]) => [n, sum(v.events)]));
  r.avg_cores = r.wall_s ? +(r.cpu_s / r.wall_s).toFixed(2) : 0;
  r.cpu_s_per_1k_emits = r.emits ? +((1000 * r.cpu_s) / r.emits).toFixed(3) : null;
  return r;
}

const runs = fs.readFileSync(manifest, "utf8").trim().split("\n").filter(Boolean).map((l) => loadRun(...l.split("\t")));
const problems = [], warnings = [];
for (const r of runs) {
  const who = `${r.mode}/${r.tool}`;
  r.phase_s = params.duration_s;
  if (r.rate) {
    // a sweep run: failing is a result (the table says so); the counts must still agree
    r.sweep_failure = sweepFailure(r, r.rate * params.duration_s, params.think_ms);
    if (r.sweep_failure) continue;
  }
  const expectedUsers = (r.rate || params.rate) * params.duration_s;
  if (r.rc !== 0) problems.push(`${who}: exit code ${r.rc} (see ${r.dir}/log)`);
  if (!r.report_written) { problems.push(`${who}: no report written`); continue; }
  if (r.failed) problems.push(`${who}: ${r.failed} users failed ${JSON.stringify(r.errors)}`);
  if (!r.created || r.completed !== r.created) problems.push(`${who}: completed ${r.completed} of ${r.created} users`);
  if (r.server_received !== r.emits) problems.push(`${who}: servers received ${r.server_received} events, report says ${r.emits} emits`);
  if (r.server_acks !== r.emits) problems.push(`${who}: servers acked ${r.server_acks}, report says ${r.emits} emits`);
  if (r.server_connections !== r.created) problems.push(`${who}: servers saw ${r.server_connections} connections for ${r.created} users`);
  if (r.server_session_id_unknown) problems.push(`${who}: servers answered "Session ID unknown" ${r.server_session_id_unknown}x`);
  if (r.mode === "baseline") continue;
  const perUser = r.emits_per_user;
  if (r.emits !== r.created * perUser) problems.push(`${who}: ${r.emits} emits for ${r.created} users x ${perUser}`);
  if (r.created !== expectedUsers) warnings.push(`${who}: created ${r.created} users, the phase asks for ${expectedUsers}`);
  if (!r.latency || r.latency.count !== r.emits) warnings.push(`${who}: ${r.latency_metric} has ${r.latency ? r.latency.count : 0} samples for ${r.emits} emits`);
  if (r.mode === "upgrade" && r.server_upgrades !== r.created) warnings.push(`${who}: ${r.server_upgrades} websocket upgrades for ${r.created} users`);
  const session = (Math.max(0, perUser - 1) * params.think_ms) / 1000;
  if (r.wall_s > params.duration_s + session + 15) warnings.push(`${who}: took ${r.wall_s} s for a ${params.duration_s} s phase + ${session} s sessions (stretched phase?)`);
  if (r.other_cpu_s > 0.25 * r.wall_s) warnings.push(`${who}: other processes used ${r.other_cpu_s} CPU s during the ${r.wall_s} s run (a busy machine skews latency and wall time)`);
  if (r.busiest_replica_peak_1s_pct >= 90) warnings.push(`${who}: a replica reached ${r.busiest_replica_peak_1s_pct}% of a core in a 1 s window (the server may be the bottleneck)`);
}

const baseline = Object.fromEntries(runs.filter((r) => r.mode === "baseline").map((r) => [r.tool, r]));
const ratios = {};
const pick = (mode, tool) => runs.find((r) => r.mode === mode && r.tool === tool);
for (const mode of [...new Set(runs.map((r) => r.mode))].filter((m) => m !== "baseline" && !m.endsWith("-1emit") && !m.includes("@"))) {
  const s = pick(mode, "sioreplay"), a = pick(mode, "artillery");
  if (!s || !a || !s.emits || !a.emits) continue;
  const net = (r) => (baseline[r.tool] ? (r.cpu_s - baseline[r.tool].cpu_s) / r.emits : null);
  for (const r of [s, a]) if (baseline[r.tool]) r.net_cpu_s_per_1k_emits = +(1000 * net(r)).toFixed(3);
  // marginal: CPU of the extra emits, from the same arrivals with 1 emit per user
  const marginal = (r) => {
    const one = pick(`${mode}-1emit`, r.tool);
    return one && r.emits > one.emits ? (r.cpu_s - one.cpu_s) / (r.emits - one.emits) : null;
  };
  // Artillery runs the load in one worker thread (cpus - 1 on 2 cores); once that thread is at
  // one core even with 1 emit per user, extra emits only displace its timer/arrival work
  const oneA = pick(`${mode}-1emit`, "artillery");
  const capped = oneA && oneA.avg_cores >= 0.85;
  if (capped) warnings.push(`${mode}: marginal CPU per emit not measurable: Artillery already used ${oneA.avg_cores} cores with 1 emit per user (its worker thread is saturated by arrivals; rerun with a lower --rate, e.g. 10)`);
  for (const r of [s, a]) if (marginal(r) !== null) r.marginal_cpu_ms_per_emit = +(1000 * marginal(r)).toFixed(3);
  ratios[mode] = {
    cpu_per_emit: +((a.cpu_s / a.emits) / (s.cpu_s / s.emits)).toFixed(1),
    net_cpu_per_emit: baseline.sioreplay && baseline.artillery ? +(net(a) / net(s)).toFixed(1) : null,
    marginal_cpu_per_emit: !capped && marginal(a) !== null && marginal(s) > 0 ? +(marginal(a) / marginal(s)).toFixed(1) : null,
    peak_rss_tree: +(a.peak_rss_tree_mb / s.peak_rss_tree_mb).toFixed(1),
    max_rss_single_process: +(a.max_rss_single_process_mb / s.max_rss_single_process_mb).toFixed(1),
  };
}

// ---- table
let artilleryVersion = null;
try { artilleryVersion = JSON.parse(fs.readFileSync(path.join(root, "tests/peers/artillery/node_modules/artillery/package.json"))).version; } catch {}
const cols = [
  ["mode", (r) => r.mode], ["tool", (r) => r.tool], ["created", (r) => r.created], ["done", (r) => r.completed],
  ["failed", (r) => r.failed], ["emits", (r) => r.emits], ["srv rcvd", (r) => r.server_received],
  ["wall s", (r) => r.wall_s.toFixed(1)], ["CPU s", (r) => r.cpu_s.toFixed(2)], ["cores", (r) => r.avg_cores.toFixed(2)],
  ["CPU s/1k emits", (r) => (r.cpu_s_per_1k_emits === null ? "-" : r.cpu_s_per_1k_emits.toFixed(3))],
  ["net CPU s/1k", (r) => (r.net_cpu_s_per_1k_emits === undefined ? "-" : r.net_cpu_s_per_1k_emits.toFixed(3))],
  ["peak RSS MB", (r) => (r.tree_processes.length ? r.peak_rss_tree_mb.toFixed(1) : "-")], ["max 1-proc MB", (r) => r.max_rss_single_process_mb.toFixed(1)],
  ["p50 ms", (r) => (r.latency ? r.latency.p50 : "-")], ["p99 ms", (r) => (r.latency ? r.latency.p99 : "-")],
  ["srv CPU s", (r) => r.server_cpu_s.toFixed(1)], ["other CPU s", (r) => r.other_cpu_s.toFixed(1)], ["busiest replica %", (r) => r.busiest_replica_peak_1s_pct],
];
const fixedRuns = runs.filter((r) => !r.rate);
const rows = fixedRuns.map((r) => cols.map(([, f]) => String(f(r))));
const widths = cols.map(([h], i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(`\n${sioVersion} vs Artillery ${artilleryVersion}, ${fixedRuns.some((r) => r.mode !== "baseline") ? `${params.rate} users/s` : "rate sweep"} x ${params.duration_s} s, ${params.emits_per_user} acked emits/user, think ${params.think}`);
console.log(line(cols.map(([h]) => h)));
for (const row of rows) console.log(line(row));
console.log("CPU s = user+sys of the tool's process tree (GNU time), cores = CPU s / wall s; peak RSS = max over 100 ms samples of the tree's summed RSS;");
console.log("max 1-proc = GNU time %M (largest single process); net = minus the baseline run's CPU; latency: sioreplay socketio.ack_time,");
console.log("Artillery socketio.response_time; srv CPU = 3 replicas + HAProxy over the run; busiest replica = max 1 s window, 100 = one core;");
console.log("other = machine busy CPU (/proc/stat) minus tool and server (other jobs, the sampler).");
for (const [mode, q] of Object.entries(ratios)) {
  console.log(`ratio Artillery / sioreplay (${mode}): CPU per emit ${q.cpu_per_emit}x` +
    (q.net_cpu_per_emit !== null ? `; net of start-up ${q.net_cpu_per_emit}x` : "") +
    (q.marginal_cpu_per_emit !== null ? `; marginal (one more emit) ${q.marginal_cpu_per_emit}x = ` +
      `${pick(mode, "artillery").marginal_cpu_ms_per_emit} vs ${pick(mode, "sioreplay").marginal_cpu_ms_per_emit} CPU ms` : "") +
    `; peak RSS ${q.peak_rss_tree}x (largest process ${q.max_rss_single_process}x)`);
}
// ---- the rate sweep: per rate and tool, and each tool's highest rate with 0 failures
const sweep = { rows: [], highest_rate_without_failures: {}, first_failure: {} };
const sweepRuns = runs.filter((r) => r.rate);
if (sweepRuns.length) {
  // Little's law: users connected at once = arrival rate x mean session length; the memory per
  // connected user is the peak RSS above the tool's 1-user baseline run, over that
  for (const r of sweepRuns) {
    r.concurrent_users = r.session_length_p50_ms ? Math.round((r.rate * r.session_length_p50_ms) / 1000) : null;
    const base = baseline[r.tool];
    // a 1-user run can end between two 100 ms samples: then its single-process peak (GNU time)
    const peak = (x) => (x.tree_processes.length ? x.peak_rss_tree_mb : x.max_rss_single_process_mb);
    if (base && r.concurrent_users && r.tree_processes.length)
      r.rss_kb_per_concurrent_user = +(((peak(r) - peak(base)) * 1024) / r.concurrent_users).toFixed(1);
  }
  const rates = [...new Set(sweepRuns.map((r) => r.rate))].sort((a, b) => a - b);
  const scols = [
    ["rate/s", (r) => r.rate], ["tool", (r) => r.tool], ["created", (r) => r.created], ["done", (r) => r.completed], ["failed", (r) => r.failed],
    ["emits", (r) => r.emits], ["wall s", (r) => r.wall_s.toFixed(1)], ["CPU s", (r) => r.cpu_s.toFixed(2)], ["cores", (r) => r.avg_cores.toFixed(2)],
    ["CPU s/1k emits", (r) => (r.cpu_s_per_1k_emits === null ? "-" : r.cpu_s_per_1k_emits.toFixed(3))],
    ["users at once", (r) => (r.concurrent_users === null ? "-" : r.concurrent_users)],
    ["peak RSS MB", (r) => (r.tree_processes.length ? r.peak_rss_tree_mb.toFixed(1) : "-")],
    ["KB/user", (r) => (r.rss_kb_per_concurrent_user === undefined ? "-" : r.rss_kb_per_concurrent_user.toFixed(1))],
    ["p50 ms", (r) => (r.latency ? r.latency.p50 : "-")], ["p99 ms", (r) => (r.latency ? r.latency.p99 : "-")],
    ["srv CPU s", (r) => r.server_cpu_s.toFixed(1)], ["busiest replica %", (r) => r.busiest_replica_peak_1s_pct],
    ["held", (r) => (r.sweep_failure ? "no" : "yes")],
  ];
  const srows = [];
  for (const rate of rates) for (const tool of ["sioreplay", "artillery"]) {
    const r = sweepRuns.find((x) => x.rate === rate && x.tool === tool);
    if (r) srows.push(r);
  }
  const cells = srows.map((r) => scols.map(([, f]) => String(f(r))));
  const sw = scols.map(([h], i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const sline = (c) => c.map((x, i) => (i === 1 ? x.padEnd(sw[i]) : x.padStart(sw[i]))).join("  ");
  console.log(`\nrate sweep: ${sweepRuns[0].mode.split("@")[0]}, ${params.duration_s} s per rate, ${params.emits_per_user} acked emits/user, think ${params.think}`);
  console.log(sline(scols.map(([h]) => h)));
  for (const row of cells) console.log(sline(row));
  console.log("users at once = rate x session length p50; KB/user = (peak RSS - the 1-user baseline's) / users at once; held = 0 failed users, every user");
  console.log("created and completed with all its emits, and the phase not stretched (the tool kept its arrival schedule).");
  for (const rate of rates) {
    const s = sweepRuns.find((x) => x.rate === rate && x.tool === "sioreplay");
    const a = sweepRuns.find((x) => x.rate === rate && x.tool === "artillery");
    const row = { rate };
    if (s && a && s.emits && a.emits && !s.sweep_failure && !a.sweep_failure) {
      row.cpu_per_emit = +((a.cpu_s / a.emits) / (s.cpu_s / s.emits)).toFixed(1);
      const bs = baseline.sioreplay, ba = baseline.artillery;
      if (bs && ba && s.cpu_s > bs.cpu_s) row.net_cpu_per_emit = +((a.cpu_s - ba.cpu_s) / (s.cpu_s - bs.cpu_s)).toFixed(1);
      if (s.rss_kb_per_concurrent_user > 0 && a.rss_kb_per_concurrent_user > 0)
        row.rss_per_user = +(a.rss_kb_per_concurrent_user / s.rss_kb_per_concurrent_user).toFixed(1);
      row.peak_rss = +(a.peak_rss_tree_mb / s.peak_rss_tree_mb).toFixed(1);
      console.log(`ratio Artillery / sioreplay at ${rate}/s: CPU per emit ${row.cpu_per_emit}x` +
        (row.net_cpu_per_emit ? ` (net of start-up ${row.net_cpu_per_emit}x)` : "") + `; peak RSS ${row.peak_rss}x` +
        (row.rss_per_user ? `; RSS per connected user ${row.rss_per_user}x` : ""));
    }
    sweep.rows.push(row);
  }
  for (const tool of ["sioreplay", "artillery"]) {
    const mine = sweepRuns.filter((r) => r.tool === tool).sort((x, y) => x.rate - y.rate);
    const firstBad = mine.find((r) => r.sweep_failure);
    const held = mine.filter((r) => !r.sweep_failure && (!firstBad || r.rate < firstBad.rate));
    sweep.highest_rate_without_failures[tool] = held.length ? held[held.length - 1].rate : null;
    sweep.first_failure[tool] = firstBad ? { rate: firstBad.rate, why: firstBad.sweep_failure } : null;
    console.log(`${tool}: highest rate with 0 failures ${held.length ? `${held[held.length - 1].rate}/s` : "none"}` +
      (firstBad ? `; first failure at ${firstBad.rate}/s: ${firstBad.sweep_failure}` : `; no failure up to ${mine.length ? mine[mine.length - 1].rate : "-"}/s`));
  }
}
for (const w of warnings) console.log(`warning: ${w}`);
for (const p of problems) console.log(`FAIL: ${p}`);
console.log(problems.length ? `${problems.length} problem(s): the numbers cannot be trusted` : "checks: 0 failed users, every emit reached a replica and was acked, counts match the reports");

// ---- JSON
const result = {
  benchmark: "replay_vs_artillery", date: new Date().toISOString(),
  machine: { cores: os.cpus().length, cpu: os.cpus()[0] && os.cpus()[0].model, kernel: os.release(), mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1) },
  versions: { sioreplay: sioVersion, artillery: artilleryVersion, node_server: process.version },
  params, runs, ratios, sweep, warnings, problems, ok: problems.length === 0,
};
fs.writeFileSync(outPath, JSON.stringify(result, null, 2) + "\n");
process.exit(problems.length ? 1 : 0);
