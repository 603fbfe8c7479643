'use strict';
/*
 * sioreplay sample app: one Socket.IO 4 replica.
 *
 *   node server.js --port N --replica NAME [--host 127.0.0.1] [--verbose] [--news-ms MS]
 *                  [--tls-cert FILE --tls-key FILE] [--event-log FILE] [--workers K]
 *
 * With --tls-cert/--tls-key (PEM files, both required) it serves HTTPS instead of HTTP on the
 * same port; everything else is identical.
 *
 * HTTP (same server, every response carries "X-Replica: NAME"):
 *   GET  /             tiny demo page; sets "app_session=<random>; HttpOnly; Path=/"
 *   GET  /stats        JSON counters (see README.md)
 *   POST /stats/reset  zero the counters
 *   GET  /redirect?to=URL  302 to URL (tests: the replayer does not follow redirects)
 *   /socket.io/        Socket.IO endpoint (polling + websocket, EIO4 only, no io cookie)
 *
 * Namespaces:
 *   "/"      open; emits "welcome" {replica, sid}; any event is accepted, and an event
 *            that carries an ack callback is acked with (...receivedArgs, {replica}).
 *            "slow" waits min(firstArg, 2000) ms before acking.
 *            "request-server-events" {count, noBinary} pushes tick x count, server-bin,
 *            then asks "server-ask" (client acks).
 *   "/chat"  same generic handling; needs handshake auth {token: "secret-abc"};
 *            "join"/"leave" also join/leave the room named by the first arg and
 *            "message" {room, ...} is broadcast to that room.
 *   "/admin" always refused (CONNECT_ERROR "not authorized").
 */
const fs = require('fs');
const http = require('http');
const https = require('https');
const crypto = require('crypto');
const { Server } = require('socket.io');

function parseArgs(argv) {
  const o = { port: 0, replica: '', host: '127.0.0.1', verbose: false, newsMs: 0, tlsCert: '', tlsKey: '', eventLog: '', workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(val());
    else if (a === '--replica') o.replica = val();
    else if (a === '--host') o.host = val();
    else if (a === '--news-ms') o.newsMs = Number(val());
    else if (a === '--tls-cert') o.tlsCert = val();
    else if (a === '--tls-key') o.tlsKey = val();
    else if (a === '--event-log') o.eventLog = val();
    else if (a === '--workers') o.workers = Number(val());
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) usage('--port N is required (1..65535)');
  if (!o.replica) usage('--replica NAME is required');
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 64) usage('--workers K: 1..64');
  if (!o.tlsCert !== !o.tlsKey) usage('--tls-cert and --tls-key go together');
  return o;
}
function usage(err) {
  const text = 'usage: node server.js --port N --replica NAME [--host 127.0.0.1] [--verbose] [--news-ms MS]'
    + ' [--tls-cert FILE --tls-key FILE] [--event-log FILE] [--workers K]';
  if (err) {
    process.stderr.write(`server.js: ${err}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(text + '\n');
  process.exit(0);
}

const cfg = parseArgs(process.argv.slice(2));

// --workers K: K processes share the port (Node's cluster module: the primary accepts each
// connection and hands it to the next worker). For many websocket-only users, past one process's
// open-files limit; polling needs stickiness, which this does not give. /stats answers for the
// worker that got the request.
const cluster = require('cluster');
if (cfg.workers > 1 && cluster.isPrimary) {
  let quitting = false;
  for (let i = 0; i < cfg.workers; i++) cluster.fork();
  cluster.on('exit', (w, code, signal) => {
    if (quitting) return;
    process.stderr.write(`server.js [${cfg.replica}]: worker ${w.id} exited (${signal || code}); stopping\n`);
    quitting = true;
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    process.exitCode = 1;
  });
  const quit = () => {
    quitting = true;
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  return;
}
const REPLICA = cluster.isWorker ? `${cfg.replica}.${cluster.worker.id}` : cfg.replica;
const vlog = cfg.verbose
  ? (...a) => process.stderr.write(`[${REPLICA}] ${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}\n`)
  : () => {};

// ------------------------------------------------------------------ event log
// --event-log FILE: one JSON line per received client event, written synchronously (so nothing
// is lost when the process is stopped): {"t": ms since the epoch with microseconds, "replica",
// "eio": the Engine.IO session id, "nsp", "event", "args": the number of arguments, "ack",
// "from": the client's address as the handshake saw it}.
// Tests use it to check what arrived, in which order within each session, and when.
const eventLogFd = cfg.eventLog ? fs.openSync(cfg.eventLog, 'a') : null;
const { performance } = require('perf_hooks');
function logEvent(socket, event, nargs, ack) {
  if (eventLogFd === null) return;
  const t = Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
  fs.writeSync(eventLogFd, JSON.stringify({
    t, replica: REPLICA, eio: socket.conn.id, nsp: socket.nsp.name, event, args: nargs, ack,
    from: socket.handshake.address,
  }) + '\n');
}

// ------------------------------------------------------------------ counters
let stats;
function resetStats() {
  stats = {
    since: Date.now(),
    connections: {},        // namespace -> successful connections
    disconnections: {},     // namespace -> disconnections
    connectErrors: {},      // namespace -> refused by a middleware (CONNECT_ERROR)
    events: {},             // namespace -> event name -> received count
    acks: {},               // namespace -> acks sent
    engine: {
      connections: 0,       // Engine.IO sessions opened
      upgrades: 0,          // polling -> websocket upgrades
      sessionIdUnknown: 0,  // connection_error code 1 ("Session ID unknown")
      connectionErrors: {}, // "<code> <message>" -> count (all codes)
    },
    serverAskAcks: 0,       // client acks to "server-ask"
  };
}
resetStats();
function inc(obj, key, n = 1) { obj[key] = (obj[key] || 0) + n; }
function incEvent(nsp, event) {
  const m = stats.events[nsp] || (stats.events[nsp] = Object.create(null));
  inc(m, event);
}
function snapshot() {
  return Object.assign({ replica: REPLICA, pid: process.pid, now: Date.now() }, stats);
}

// ------------------------------------------------------------------ HTTP
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sioreplay sample app</title></head>
<body><h1>sioreplay sample app</h1><pre id="log"></pre>
<script src="/socket.io/socket.io.js"></script>
<script>
  var out = document.getElementById('log');
  function log(s) { out.textContent += s + '\\n'; }
  var main = io('/');
  main.on('welcome', function (w) { log('welcome ' + JSON.stringify(w)); });
  main.on('connect', function () {
    main.emit('hello', 'world');
    main.emit('echo', { text: 'ack me' }, function () { log('echo ack ' + JSON.stringify([].slice.call(arguments))); });
  });
  var chat = io('/chat', { auth: { token: 'secret-abc' } });
  chat.on('connect', function () {
    chat.emit('join', 'general', function (r) { log('join ack ' + JSON.stringify(r)); });
  });
</script>
</body></html>
`;

function sendJson(res, code, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function handler(req, res) {
  const p = req.url.split('?')[0];
  if (p === '/' || p === '/index.html') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    const cookie = `app_session=${crypto.randomBytes(8).toString('hex')}; HttpOnly; Path=/`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Set-Cookie': cookie });
    res.end(req.method === 'HEAD' ? undefined : PAGE);
  } else if (p === '/stats') {
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
    sendJson(res, 200, snapshot());
  } else if (p === '/stats/reset') {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
    req.resume();
    resetStats();
    sendJson(res, 200, { ok: true, replica: REPLICA });
  } else if (p === '/redirect') {
    const to = new URL(req.url, 'http://localhost').searchParams.get('to') || '/';
    res.writeHead(302, { Location: to, 'Content-Length': 0 });
    res.end();
  } else if (p === '/favicon.ico') {
    res.writeHead(204);
    res.end();
  } else if (!p.startsWith('/socket.io/')) {
    sendJson(res, 404, { error: 'not found' });
  }
  // /socket.io/* is answered by Socket.IO (attached below)
}

function loadTls() {
  try {
    return { cert: fs.readFileSync(cfg.tlsCert), key: fs.readFileSync(cfg.tlsKey) };
  } catch (e) {
    process.stderr.write(`server.js [${REPLICA}]: cannot read TLS certificate/key: ${e.message}\n`);
    process.exit(1);
  }
}
const SCHEME = cfg.tlsCert ? 'https' : 'http';
const server = cfg.tlsCert ? https.createServer(loadTls(), handler) : http.createServer(handler);
server.keepAliveTimeout = 65000;

const io = new Server(server, {
  path: '/socket.io/',
  transports: ['polling', 'websocket'],
  allowEIO3: false,
  cookie: false,
  maxHttpBufferSize: 1e7,
});

// X-Replica on every HTTP response: a "request" listener placed before Socket.IO's own
// (setHeader survives engine.io's writeHead, including its 400 error answers) ...
server.prependListener('request', (req, res) => res.setHeader('X-Replica', REPLICA));
// ... and on the websocket upgrade response.
io.engine.on('headers', (headers) => { headers['X-Replica'] = REPLICA; });

io.engine.on('connection', (raw) => {
  stats.engine.connections++;
  raw.once('upgrade', () => { stats.engine.upgrades++; });
});
io.engine.on('connection_error', (err) => {
  if (err.code === 1) stats.engine.sessionIdUnknown++;
  inc(stats.engine.connectionErrors, `${err.code} ${err.message}`);
  vlog('engine connection_error', err.code, err.message, err.req && err.req.url);
});

// ------------------------------------------------------------------ Socket.IO
const SLOW_CAP_MS = 2000;

function wireGeneric(socket) {
  const nsp = socket.nsp.name;
  inc(stats.connections, nsp);
  vlog('connect', nsp, socket.id, 'engine', socket.conn.id);
  socket.on('disconnect', (reason) => {
    inc(stats.disconnections, nsp);
    vlog('disconnect', nsp, socket.id, reason);
  });
  socket.onAny((event, ...args) => {
    incEvent(nsp, event);
    const ack = args.length && typeof args[args.length - 1] === 'function' ? args.pop() : null;
    logEvent(socket, event, args.length, !!ack);
    if (cfg.verbose) vlog('recv', nsp, event, args.length, 'args', ack ? '(ack)' : '');
    if (!ack) return;
    const reply = () => {
      inc(stats.acks, nsp);
      ack(...args, { replica: REPLICA });
    };
    if (event === 'slow') {
      const ms = Math.max(0, Math.min(SLOW_CAP_MS, Number(args[0]) || 0));
      setTimeout(reply, ms);
    } else {
      reply();
    }
  });
}

io.on('connection', (socket) => {
  wireGeneric(socket);
  socket.emit('welcome', { replica: REPLICA, sid: socket.id });
  let news = null;
  if (cfg.newsMs > 0) {
    let seq = 0;
    news = setInterval(() => socket.emit('news', { seq: ++seq, headline: `headline #${seq}` }), cfg.newsMs);
    socket.on('disconnect', () => clearInterval(news));
  }
  // optional server pushes, like the demo that produced samples/har
  socket.on('request-server-events', (opts) => {
    const count = Math.max(0, Math.min(100, Number(opts && opts.count) || 0));
    let i = 0;
    const step = () => {
      if (!socket.connected) return;
      if (i < count) {
        socket.emit('tick', { n: ++i, of: count });
        setTimeout(step, 100);
        return;
      }
      if (!(opts && opts.noBinary)) socket.emit('server-bin', { label: 'from-server' }, Buffer.from([0x62, 0x69, 0x6e, 0x00, 0x01, 0x02]));
      socket.timeout(3000).emit('server-ask', { q: '2+2?' }, (err) => {
        if (!err) stats.serverAskAcks++;
      });
    };
    step();
  });
});

const chat = io.of('/chat');
chat.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === 'secret-abc') return next();
  inc(stats.connectErrors, '/chat');
  const e = new Error('not authorized');
  e.data = { reason: 'bad or missing token', hint: 'auth: {token: "secret-abc"}' };
  next(e);
});
chat.on('connection', (socket) => {
  wireGeneric(socket);
  socket.on('join', (room) => { if (typeof room === 'string') socket.join(room); });
  socket.on('leave', (room) => { if (typeof room === 'string') socket.leave(room); });
  socket.on('message', (m) => {
    if (m && typeof m === 'object' && typeof m.room === 'string') {
      socket.to(m.room).emit('message', Object.assign({ from: socket.id }, m));
    }
  });
});

io.of('/admin').use((socket, next) => {
  inc(stats.connectErrors, '/admin');
  const e = new Error('not authorized');
  e.data = { reason: 'admin namespace is closed' };
  next(e);
});

server.on('error', (err) => {
  process.stderr.write(`server.js [${REPLICA}]: cannot listen on ${cfg.host}:${cfg.port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(cfg.port, cfg.host, () => {
  process.stdout.write(`sample app replica ${REPLICA} listening on ${SCHEME}://${cfg.host}:${cfg.port} (pid ${process.pid})\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  io.close();
  server.close();
  setTimeout(() => process.exit(0), 300).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
