'use strict';
/*
 * Helper for cluster.sh: talk to the replicas' /stats endpoints.
 *   node stats.js [TLS] merge NAME=PORT [NAME=PORT...]   print {"replicas":{NAME:stats}, "total":{...}}
 *   node stats.js [TLS] reset NAME=PORT [NAME=PORT...]   POST /stats/reset on each replica
 * TLS (replicas started with --tls-cert/--tls-key): "--tls --ca FILE" verifies them against that CA,
 * "--tls --insecure" does not verify at all.
 * "total" sums every numeric leaf over the replicas (per-replica identity fields
 * replica/pid/now/since are left out). An unreachable replica appears as {"error": "..."}
 * and makes the exit status 1 (the JSON is still printed).
 */
const fs = require('fs');
const http = require('http');
const https = require('https');

const SKIP = new Set(['replica', 'pid', 'now', 'since']);

// set from the command line: null (plain HTTP) or {ca} / {rejectUnauthorized: false}
let tls = null;

function request(method, port, path) {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, method, timeout: 5000 };
    const req = (tls ? https : http).request(tls ? Object.assign(opts, tls) : opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} from :${port}${path}: ${body.slice(0, 200)}`));
        try { resolve(JSON.parse(body)); } catch (e) { reject(new Error(`bad JSON from :${port}${path}: ${e.message}`)); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout talking to :${port}${path}`)));
    req.on('error', reject);
    req.end();
  });
}

function addInto(dst, src) {
  for (const [k, v] of Object.entries(src)) {
    if (SKIP.has(k)) continue;
    if (typeof v === 'number') dst[k] = (typeof dst[k] === 'number' ? dst[k] : 0) + v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (!dst[k] || typeof dst[k] !== 'object') dst[k] = {};
      addInto(dst[k], v);
    }
  }
  return dst;
}

async function main() {
  const argv = process.argv.slice(2);
  let useTls = false, ca = null, insecure = false;
  while (argv.length && argv[0].startsWith('--')) {
    const o = argv.shift();
    if (o === '--tls') useTls = true;
    else if (o === '--insecure') insecure = true;
    else if (o === '--ca' && argv.length) ca = fs.readFileSync(argv.shift());
    else throw new Error(`unknown option ${o}`);
  }
  if (useTls) tls = insecure || !ca ? { rejectUnauthorized: false } : { ca, servername: 'localhost' };
  const [cmd, ...targets] = argv;
  const reps = targets.map((t) => {
    const m = /^([^=]+)=(\d+)$/.exec(t);
    if (!m) throw new Error(`bad target "${t}" (want NAME=PORT)`);
    return { name: m[1], port: Number(m[2]) };
  });
  if (!reps.length || (cmd !== 'merge' && cmd !== 'reset')) {
    process.stderr.write('usage: node stats.js [--tls [--ca FILE | --insecure]] merge|reset NAME=PORT...\n');
    process.exit(2);
  }
  let failed = false;
  const out = { replicas: {}, total: {} };
  await Promise.all(reps.map(async (r) => {
    try {
      out.replicas[r.name] = await request(cmd === 'merge' ? 'GET' : 'POST', r.port, cmd === 'merge' ? '/stats' : '/stats/reset');
    } catch (e) {
      failed = true;
      out.replicas[r.name] = { error: e.message };
    }
  }));
  // stable order: as given on the command line
  const ordered = {};
  for (const r of reps) ordered[r.name] = out.replicas[r.name];
  out.replicas = ordered;
  if (cmd === 'merge') {
    for (const r of reps) if (!out.replicas[r.name].error) addInto(out.total, out.replicas[r.name]);
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else if (failed) {
    process.stderr.write(JSON.stringify(out.replicas) + '\n');
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`stats.js: ${e.message}\n`);
  process.exit(2);
});
