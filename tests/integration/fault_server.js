#!/usr/bin/env node
// A misbehaving Socket.IO server for tests/integration/replay_faults.sh, on 127.0.0.1 only.
// It speaks just enough Engine.IO 4 (websocket transport) and Socket.IO 5 for users to
// connect, emit and get acks, then misbehaves as the websocket URL's query asks:
//
//   mode=ok            behaves: pings every pingInterval, answers CONNECT, acks every event
//   mode=reset         resets the TCP connection (RST) after n events
//   mode=noping        never pings (the client must notice pingInterval + pingTimeout of silence)
//   mode=noconnect     never answers the namespace CONNECT
//   mode=noack         never acks
//   mode=bad_eio       after n events: a frame that is no Engine.IO packet ("9garbage")
//   mode=bad_sio_json  after n events: an EVENT whose JSON is cut short
//   mode=bad_sio_type  after n events: a Socket.IO packet of unknown type 7
//   mode=bad_sio_attach after n events: a BINARY_EVENT announcing 99999999999 attachments
//   mode=oversized     after n events: a frame header announcing 8 GiB (past any client limit)
//   n=N                how many events first (default 2)
//
// pingInterval is 300 ms and pingTimeout 200 ms, so a missing ping shows within a second or two.
// No framework: the WebSocket handshake and frames (RFC 6455) are written here, so that the
// faults are exactly the bytes we want. A second port (--silent-port) accepts TCP connections
// and never writes a byte (a server that never answers the handshake).
// GET /stats on the main port: {"connections":N,"open":N,"events":N} (websocket connections
// accepted, still open, events received).
//
//   node fault_server.js --port P [--silent-port Q]
"use strict";
const http = require("http");
const net = require("net");
const crypto = require("crypto");

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = +opt("--port");
const silentPort = opt("--silent-port");
if (!port) {
  console.error("usage: node fault_server.js --port P [--silent-port Q]");
  process.exit(2);
}
const PING_INTERVAL = 300, PING_TIMEOUT = 200;
const stats = { connections: 0, open: 0, events: 0 };

// One unmasked server frame: FIN + opcode, then the RFC 6455 length encoding.
function frame(opcode, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  let head;
  if (body.length < 126) head = Buffer.from([0x80 | opcode, body.length]);
  else if (body.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode; head[1] = 126; head.writeUInt16BE(body.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode; head[1] = 127; head.writeBigUInt64BE(BigInt(body.length), 2);
  }
  return Buffer.concat([head, body]);
}

// Client frames (masked); calls onFrame(opcode, Buffer) for each complete one.
function frameReader(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 0x0f, masked = buf[1] & 0x80;
      let len = buf[1] & 0x7f, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      const need = at + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const payload = Buffer.from(buf.subarray(at + (masked ? 4 : 0), need));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[at + (i % 4)];
      buf = buf.subarray(need);
      onFrame(opcode, payload);
    }
  };
}

function serveWebsocket(req, sock) {
  const url = new URL(req.url, "http://127.0.0.1");
  const mode = url.searchParams.get("mode") || "ok";
  const n = +(url.searchParams.get("n") || 2);
  const key = req.headers["sec-websocket-key"];
  if (url.searchParams.get("transport") !== "websocket" || !key) {
    sock.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  const accept = crypto.createHash("sha1")
    .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
             `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
  sock.setNoDelay(true);
  stats.connections++;
  stats.open++;
  let events = 0, pinger = null, closed = false;
  const send = (text) => { if (!closed) sock.write(frame(0x1, text)); };
  const done = () => {
    if (closed) return;
    closed = true;
    stats.open--;
    clearInterval(pinger);
  };
  sock.on("close", done);
  sock.on("error", done);
  // An upgraded socket is half-open after the client's FIN: close our side too.
  sock.on("end", () => { done(); sock.destroy(); });
  send("0" + JSON.stringify({ sid: crypto.randomBytes(8).toString("hex"), upgrades: [],
                              pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, maxPayload: 1e6 }));
  if (mode !== "noping") pinger = setInterval(() => send("2"), PING_INTERVAL);

  const misbehave = () => {
    switch (mode) {
      case "reset": done(); sock.resetAndDestroy(); return true;
      case "bad_eio": send("9garbage"); return true;
      case "bad_sio_json": send('42["push",{"a":'); return true;
      case "bad_sio_type": send('47["push"]'); return true;
      case "bad_sio_attach": send('4599999999999-["push",{"_placeholder":true,"num":0}]'); return true;
      case "oversized": {
        // Only the header: 8 GiB announced, nothing sent after it.
        const head = Buffer.alloc(10);
        head[0] = 0x81; head[1] = 127; head.writeBigUInt64BE(8n << 30n, 2);
        if (!closed) sock.write(head);
        return true;
      }
      default: return false;
    }
  };
  const onText = (text) => {
    if (text === "3") return; // pong
    if (text === "1") { sock.end(frame(0x8, Buffer.from([0x03, 0xe8]))); return; }
    if (!text.startsWith("4")) return;
    const sio = text.slice(1);
    if (sio.startsWith("0")) { // CONNECT
      if (mode !== "noconnect") send(`40{"sid":"${crypto.randomBytes(8).toString("hex")}"}`);
      return;
    }
    if (!sio.startsWith("2")) return; // DISCONNECT etc.
    stats.events++;
    events++;
    if (events > n && misbehave()) return;
    const m = /^2(\d+)(\[.*)$/s.exec(sio);
    if (m && mode !== "noack") {
      let args = [];
      try { args = JSON.parse(m[2]).slice(1); } catch (e) { /* acked without arguments */ }
      send(`43${m[1]}${JSON.stringify(args)}`);
    }
  };
  sock.on("data", frameReader((opcode, payload) => {
    if (opcode === 0x1) onText(payload.toString("utf8"));
    else if (opcode === 0x8) { sock.end(frame(0x8, payload.subarray(0, 2))); done(); }
    else if (opcode === 0x9) { if (!closed) sock.write(frame(0xa, payload)); }
  }));
}

const server = http.createServer((req, res) => {
  if (req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(stats));
    return;
  }
  res.writeHead(400, { "content-type": "application/json" });
  res.end('{"code":3,"message":"Bad request: this server speaks websocket only"}');
});
server.on("upgrade", serveWebsocket);
server.listen(port, "127.0.0.1", () => console.log(`fault server on 127.0.0.1:${port}`));

if (silentPort) {
  const held = [];
  net.createServer((s) => { held.push(s); s.on("error", () => {}); })
    .listen(+silentPort, "127.0.0.1", () => console.log(`silent server on 127.0.0.1:${silentPort}`));
}
process.on("SIGTERM", () => process.exit(0));
