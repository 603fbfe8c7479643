'use strict';
/*
 * sioreplay sample app, Socket.IO 2.x flavour (Engine.IO protocol v3): one replica that behaves
 * like ../app/server.js (Socket.IO 4) as far as Socket.IO 2 allows, so the same scenarios run
 * against either. Differences are listed in README.md.
 *
 *   node server.js --port N --replica NAME [--host 127.0.0.1] [--verbose] [--news-ms MS]
 *                  [--tls-cert FILE --tls-key FILE]
 *
 * HTTP (same server, every response carries "X-Replica: NAME"; HTTPS with --tls-cert/--tls-key):
 *   GET  /             tiny demo page; sets "app_session=<random>; HttpOnly; Path=/"
 *   GET  /stats        JSON counters, same shape as ../app (see ../app/README.md)
 *   POST /stats/reset  zero the counters
 *   /socket.io/        Socket.IO endpoint (polling + websocket, EIO=3, no io cookie)
 *
 * Namespaces:
 *   "/"      open; emits "welcome" {replica, sid}; any event is accepted, and an event
 *            that carries an ack callback is acked with (...receivedArgs, {replica}).
 *            "slow" waits min(firstArg, 2000) ms before acking.
 *            "request-server-events" {count, noBinary} pushes tick x count, server-bin,
 *            then asks "server-ask" (client acks).
 *            Socket.IO 2 connects every client to "/" as soon as its Engine.IO session opens.
 *   "/chat"  same generic handling; needs query token=secret-abc, either in the namespace
 *            CONNECT packet ("40/chat?token=secret-abc,"; client: io('/chat', {query: {token}}))
 *            or in the Engine.IO handshake URL (/socket.io/?EIO=3&transport=polling&token=...).
 *            Refusal: ERROR packet 4/chat,"not authorized".
 *            "join"/"leave" also join/leave the room named by the first arg and
 *            "message" {room, ...} is broadcast to that room.
 *   "/admin" always refused (ERROR packet 4/admin,"not authorized").
 */
const fs = require('fs');
const http = require('http');
const https = require('https');
const crypto = require('crypto');
const socketio = require('socket.io');

function parseArgs(argv) {
  const o = { port: 0, replica: '', host: '127.0.0.1', verbose: false, newsMs: 0, tlsCert: '', tlsKey: '' };
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
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) usage('--port N is required (1..65535)');
  if (!o.replica) usage('--replica NAME is required');
  if (!o.tlsCert !== !o.tlsKey) usage('--tls-cert and --tls-key go together');
  return o;
}
function usage(err) {
  const text = 'usage: node server.js --port N --replica NAME [--host 127.0.0.1] [--verbose] [--news-ms MS]'
    + ' [--tls-cert FILE --tls-key FILE]';
  if (err) {
    process.stderr.write(`server.js (v2): ${err}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(text + '\n');
  process.exit(0);
}

const cfg = parseArgs(process.argv.slice(2));
const REPLICA = cfg.replica;
const vlog = cfg.verbose
  ? (...a) => process.stderr.write(`[${REPLICA}] ${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}\n`)
  : () => {};

// ------------------------------------------------------------------ counters (same shape as ../app)
let stats;
function resetStats() {
  stats = {
    since: Date.now(),
    connections: {},        // namespace -> successful connections
    disconnections: {},     // namespace -> disconnections
    connectErrors: {},      // namespace -> refused by a middleware (ERROR packet)
    events: {},             // namespace -> event name -> received count
    acks: {},               // namespace -> acks sent
    engine: {
      connections: 0,       // Engine.IO sessions opened
      upgrades: 0,          // polling -> websocket upgrades
      sessionIdUnknown: 0,  // requests refused with code 1 ("Session ID unknown")
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
<html><head><meta charset="utf-8"><title>sioreplay sample app (Socket.IO 2)</title></head>
<body><h1>sioreplay sample app (Socket.IO 2)</h1><pre id="log"></pre>
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
  var chat = io('/chat', { query: { token: 'secret-abc' } });
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
  } else if (p === '/favicon.ico') {
    res.writeHead(204);
    res.end();
  } else if (!p.startsWith('/socket.io/')) {
    sendJson(res, 404, { error: 'not found' });
  }
  // /socket.io/* is answered by Socket.IO (attached below; it also serves /socket.io/socket.io.js)
}

function loadTls() {
  try {
    return { cert: fs.readFileSync(cfg.tlsCert), key: fs.readFileSync(cfg.tlsKey) };
  } catch (e) {
    process.stderr.write(`server.js (v2) [${REPLICA}]: cannot read TLS certificate/key: ${e.message}\n`);
    process.exit(1);
  }
}
const SCHEME = cfg.tlsCert ? 'https' : 'http';
const server = cfg.tlsCert ? https.createServer(loadTls(), handler) : http.createServer(handler);
server.keepAliveTimeout = 65000;

const io = socketio(server, {
  path: '/socket.io',
  transports: ['polling', 'websocket'],
  cookie: false,
  maxHttpBufferSize: 1e7,
});
const engine = io.engine; // engine.io 3.x Server

// X-Replica on every HTTP response: engine.io 3 moves the existing "request" listeners behind its
// own when it attaches, so this one is prepended afterwards (setHeader survives engine.io's
// writeHead, including its 400 error answers) ...
server.prependListener('request', (req, res) => res.setHeader('X-Replica', REPLICA));
// ... and on the websocket upgrade response: engine.io 3 has no "headers" event of its own, but its
// ws (7.x) server emits "headers" (array of header lines) just before writing the 101. engine.io
// (re)creates that ws server when the HTTP server starts listening, hence the "listening" hook,
// registered after engine.io's own.
function hookWsHeaders() {
  const ws = engine.ws;
  if (!ws || ws.__sioreplayHooked) return;
  ws.__sioreplayHooked = true;
  ws.on('headers', (headers) => { headers.push(`X-Replica: ${REPLICA}`); });
}
hookWsHeaders();
server.on('listening', hookWsHeaders);

engine.on('connection', (raw) => {
  stats.engine.connections++;
  raw.once('upgrade', () => { stats.engine.upgrades++; });
});
// engine.io 3.x has no "connection_error" event: every refusal of a polling request or websocket
// upgrade goes through Server#verify (called as this.verify), so wrap it on the instance and count
// its failures with engine.io 4+'s "<code> <message>" keys (code 1 = "Session ID unknown").
const ERR_MESSAGES = engine.constructor.errorMessages || {};
const origVerify = engine.verify;
engine.verify = function verify(req, upgrade, fn) {
  return origVerify.call(this, req, upgrade, (err, ok) => {
    if (!ok) {
      const known = Object.prototype.hasOwnProperty.call(ERR_MESSAGES, err);
      const code = known ? Number(err) : 4;
      const message = known ? ERR_MESSAGES[err] : String(err || 'Forbidden');
      if (code === 1) stats.engine.sessionIdUnknown++;
      inc(stats.engine.connectionErrors, `${code} ${message}`);
      vlog('engine connection error', code, message, upgrade ? '(upgrade)' : '', req.url);
    }
    fn(err, ok);
  });
};

// ------------------------------------------------------------------ Socket.IO
const SLOW_CAP_MS = 2000;
// names that would fire the server's own listeners if dispatched (Socket.IO 2 does not filter them)
const RESERVED = new Set(['connect', 'connection', 'connect_error', 'disconnect', 'disconnecting', 'error',
  'newListener', 'removeListener']);

// Socket.IO 2 has no onAny(): a per-socket middleware sees every incoming event as
// [event, ...args, ackFn?] before it is dispatched to the specific listeners.
function wireGeneric(socket) {
  const nsp = socket.nsp.name;
  inc(stats.connections, nsp);
  vlog('connect', nsp, socket.id, 'engine', socket.conn.id);
  socket.on('disconnect', (reason) => {
    inc(stats.disconnections, nsp);
    vlog('disconnect', nsp, socket.id, reason);
  });
  socket.use((packet, next) => {
    const event = packet[0];
    const args = packet.slice(1); // a copy: the packet array itself is dispatched afterwards
    const ack = args.length && typeof args[args.length - 1] === 'function' ? args.pop() : null;
    incEvent(nsp, event);
    if (cfg.verbose) vlog('recv', nsp, event, args.length, 'args', ack ? '(ack)' : '');
    if (!RESERVED.has(event)) next(); // the specific listeners (join, ...) run before the ack goes out
    if (!ack) return;
    const reply = () => {
      inc(stats.acks, nsp);
      ack(...args, { replica: REPLICA });
    };
    if (event === 'slow') {
      const ms = Math.max(0, Math.min(SLOW_CAP_MS, Number(args[0]) || 0));
      setTimeout(reply, ms);
    } else {
      process.nextTick(reply);
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
      // no socket.timeout() in Socket.IO 2: an ack later than 3 s is ignored, as in ../app
      let expired = false;
      const timer = setTimeout(() => { expired = true; }, 3000);
      socket.emit('server-ask', { q: '2+2?' }, () => {
        if (expired) return;
        expired = true;
        clearTimeout(timer);
        stats.serverAskAcks++;
      });
    };
    step();
  });
});

const chat = io.of('/chat');
chat.use((socket, next) => {
  // handshake.query = Engine.IO handshake URL query merged with the namespace CONNECT query
  const query = socket.handshake.query || {};
  if (query.token === 'secret-abc') return next();
  inc(stats.connectErrors, '/chat');
  // no err.data: Socket.IO 2 would send err.data instead of the message
  next(new Error('not authorized'));
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
  next(new Error('not authorized'));
});

server.on('error', (err) => {
  process.stderr.write(`server.js (v2) [${REPLICA}]: cannot listen on ${cfg.host}:${cfg.port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(cfg.port, cfg.host, () => {
  process.stdout.write(`sample app (socket.io 2) replica ${REPLICA} listening on ${SCHEME}://${cfg.host}:${cfg.port} (pid ${process.pid})\n`);
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
