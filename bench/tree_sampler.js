#!/usr/bin/env node
// Samples a process tree and a few named processes from /proc every INTERVAL ms (Linux only).
// Used by bench/replay_vs_artillery.sh; reads /proc only, never signals anything it samples.
//
//   node bench/tree_sampler.js OUT.json ROOT_PID [--interval MS] [--exclude COMM,...] [NAME=PID ...]
//
// Tree = every descendant of ROOT_PID (ROOT itself excluded, and any process whose comm is in
// --exclude, e.g. the `time`/`timeout` wrappers). Per sample: the sum of the tree's resident
// memory (statm resident pages: anonymous + file-backed, as VmRSS; threads share one
// process entry, so nothing is counted twice). Also the tree's CPU from utime+stime of each
// process as last seen (a cross-check for GNU time; it misses the last < INTERVAL of a process
// that exits). NAME=PID processes (the server replicas, HAProxy): CPU seconds over the run and
// the busiest 1 s window (100 % = one core). The machine's busy CPU seconds (/proc/stat) over the
// same time, to see load from other processes (this sampler's own ~1-3 % of a core included).
// Stops when ROOT_PID is gone or on SIGTERM/SIGINT, then writes OUT.json.
"use strict";
const fs = require("fs");
const { execFileSync } = require("child_process");

const args = process.argv.slice(2);
if (args.length < 2) {
  console.error("usage: tree_sampler.js OUT.json ROOT_PID [--interval MS] [--exclude COMM,...] [NAME=PID ...]");
  process.exit(2);
}
const out = args.shift();
const root = Number(args.shift());
let interval = 100;
let exclude = new Set();
const named = {};
while (args.length) {
  const a = args.shift();
  if (a === "--interval") interval = Number(args.shift());
  else if (a === "--exclude") exclude = new Set(args.shift().split(",").filter(Boolean));
  else {
    const m = /^([^=]+)=(\d+)$/.exec(a);
    if (!m) { console.error(`tree_sampler.js: bad argument ${a}`); process.exit(2); }
    named[m[1]] = Number(m[2]);
  }
}
const conf = (name, dflt) => { try { return Number(execFileSync("getconf", [name]).toString()) || dflt; } catch { return dflt; } };
const hz = conf("CLK_TCK", 100);
const page = conf("PAGESIZE", 4096);

// /proc/PID/stat -> {comm, ppid, ticks}; null when the process is gone.
function stat(pid) {
  let s;
  try { s = fs.readFileSync(`/proc/${pid}/stat`, "latin1"); } catch { return null; }
  const close = s.lastIndexOf(")");
  const comm = s.slice(s.indexOf("(") + 1, close);
  const f = s.slice(close + 2).split(" "); // f[0] = state (field 3)
  return { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) }; // utime, stime
}
function rssBytes(pid) {
  try { return Number(fs.readFileSync(`/proc/${pid}/statm`, "latin1").split(" ")[1]) * page; } catch { return 0; }
}
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === "EPERM"; } };

// whole machine: busy (non-idle, non-iowait) CPU ticks from /proc/stat, to see other load
function machineBusy() {
  try {
    const f = fs.readFileSync("/proc/stat", "latin1").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return f.slice(0, 8).reduce((a, v) => a + v, 0) - f[3] - f[4]; // user..steal minus idle, iowait
  } catch { return 0; }
}
const machineStart = machineBusy();
const t0 = process.hrtime.bigint();
const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
let samples = 0, peakRss = 0, peakRssAt = 0, peakProcs = 0;
const treeTicks = new Map(); // pid -> last seen ticks
const seen = new Map();      // pid -> comm
const namedStart = {}, namedLast = {}, namedWindow = {}, namedPeak = {};
for (const [n, pid] of Object.entries(named)) {
  const st = stat(pid);
  namedStart[n] = namedLast[n] = st ? st.ticks : null;
  namedWindow[n] = { t: 0, ticks: namedStart[n] };
  namedPeak[n] = 0;
}
let windowStart = 0, windowTotalTicks = null, peakTotalPct = 0;

function sample() {
  const children = new Map();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const st = stat(d);
    if (!st) continue;
    const pid = Number(d);
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push({ pid, st });
  }
  let rss = 0, procs = 0;
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop()) || []) {
      stack.push(c.pid);
      if (exclude.has(c.st.comm)) continue;
      const r = rssBytes(c.pid);
      rss += r;
      procs++;
      treeTicks.set(c.pid, c.st.ticks);
      seen.set(c.pid, c.st.comm);
    }
  }
  samples++;
  const t = secs();
  if (rss > peakRss) { peakRss = rss; peakRssAt = t; }
  peakProcs = Math.max(peakProcs, procs);
  // named processes: busiest 1 s window
  let total = 0, totalOk = true;
  for (const [n, pid] of Object.entries(named)) {
    const st = stat(pid);
    if (st) namedLast[n] = st.ticks;
    if (namedLast[n] === null) { totalOk = false; continue; }
    total += namedLast[n];
    const w = namedWindow[n];
    if (t - w.t >= 1) {
      namedPeak[n] = Math.max(namedPeak[n], (100 * (namedLast[n] - w.ticks)) / hz / (t - w.t));
      namedWindow[n] = { t, ticks: namedLast[n] };
    }
  }
  if (totalOk && Object.keys(named).length) {
    if (windowTotalTicks === null) { windowTotalTicks = total; windowStart = t; }
    else if (t - windowStart >= 1) {
      peakTotalPct = Math.max(peakTotalPct, (100 * (total - windowTotalTicks)) / hz / (t - windowStart));
      windowTotalTicks = total; windowStart = t;
    }
  }
}

function finish() {
  clearInterval(timer);
  const wall = secs();
  const namedOut = {};
  for (const n of Object.keys(named)) {
    const cpu = namedStart[n] === null ? null : (namedLast[n] - namedStart[n]) / hz;
    namedOut[n] = { pid: named[n], cpu_s: cpu, avg_pct: cpu === null ? null : (100 * cpu) / wall, peak_1s_pct: namedPeak[n] };
  }
  let ticks = 0;
  for (const v of treeTicks.values()) ticks += v;
  const res = {
    interval_ms: interval, samples, wall_s: wall,
    tree: { peak_rss_bytes: peakRss, peak_rss_at_s: peakRssAt, peak_processes: peakProcs, cpu_s_sampled: ticks / hz,
            processes: [...seen.entries()].map(([pid, comm]) => ({ pid, comm })) },
    named: namedOut, named_total_peak_1s_pct: peakTotalPct,
    machine_busy_cpu_s: (machineBusy() - machineStart) / hz,
  };
  fs.writeFileSync(out, JSON.stringify(res, null, 1) + "\n");
  process.exit(0);
}

sample();
const timer = setInterval(() => { if (!alive(root)) finish(); else sample(); }, interval);
process.on("SIGTERM", finish);
process.on("SIGINT", finish);
