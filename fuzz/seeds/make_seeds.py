#!/usr/bin/env python3
"""Writes the small seeds of fuzz/seeds/<target>/ from the samples (run by hand, with recordings of
the samples as arguments: `make_seeds.py a1.jsonl b1.jsonl ...`; the output is committed, so CI needs no Python). The stream targets (fuzz_http, fuzz_websocket, fuzz_tls,
fuzz_tcp_reassembly) read a script of operations; this encodes real connections of the sample
captures into that form. fuzz/make_seeds.sh adds the samples themselves at test time."""
import base64, json, os, re, struct, sys, zlib

root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
out_dir = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(out_dir, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def packets(path):
    """(ts, linktype, bytes) of a classic pcap file."""
    raw = open(path, 'rb').read()
    magic = struct.unpack('<I', raw[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    link = struct.unpack(e + 'I', raw[20:24])[0]
    pos = 24
    while pos + 16 <= len(raw):
        sec, frac, incl, _ = struct.unpack(e + 'IIII', raw[pos:pos + 16])
        yield sec + frac / 1e6, link, raw[pos + 16:pos + 16 + incl]
        pos += 16 + incl


def tcp_of(link, p):
    """(src, dst, seq, flags, payload) of an IPv4/IPv6 TCP packet, or None."""
    if link == 1:
        if len(p) < 14 or p[12:14] not in (b'\x08\x00', b'\x86\xdd'):
            return None
        ip = p[14:]
    elif link == 113:
        ip = p[16:]
    elif link == 0:
        ip = p[4:]
    else:
        return None
    if ip and ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            return None
        total = struct.unpack('>H', ip[2:4])[0]
        src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:total]
    elif ip and ip[0] >> 4 == 6:
        if ip[6] != 6:
            return None
        src, dst, tcp = ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    sport, dport, seq = struct.unpack('>HHI', tcp[:8])
    off = (tcp[12] >> 4) * 4
    return (src, sport), (dst, dport), seq, tcp[13], tcp[off:]


def connections(path):
    """Per connection (in order of first packet): [(ts, from_server, seq, flags, payload)]."""
    conns, order = {}, []
    for ts, link, p in packets(path):
        t = tcp_of(link, p)
        if not t:
            continue
        src, dst, seq, flags, payload = t
        key = (src, dst) if (src, dst) in conns else (dst, src) if (dst, src) in conns else None
        if key is None:
            key = (src, dst) if (flags & 0x12) != 0x12 else (dst, src)
            conns[key] = []
            order.append(key)
        conns[key].append((ts, src != key[0], seq, flags, payload))
    return [conns[k] for k in order]


def ops(chunks, gap_code):
    """Data operations of fuzz_http/fuzz_tls (gap_code 0x0e) or fuzz_websocket (0x0f)."""
    out = bytearray()
    for side, data in chunks:
        while data:
            part, data = data[:4000], data[4000:]
            op = ((len(part) >> 8) << 4) | side
            assert op & gap_code != gap_code
            out += bytes([op, len(part) & 0xff]) + part
    return bytes(out)


def pcaps():
    for case in sorted(os.listdir(os.path.join(root, 'samples/pcap'))):
        d = os.path.join(root, 'samples/pcap', case)
        for f in sorted(os.listdir(d)):
            if f.endswith('.pcap'):
                yield case, f[:-5], os.path.join(d, f)


def stream_seeds():
    for case, name, path in pcaps():
        for i, conn in enumerate(connections(path)[:6]):
            chunks = [(int(s), pl) for _, s, _, _, pl in conn if pl]
            if not chunks:
                continue
            data = ops(chunks, 0x0e)[:48000]
            if case == 'b9':
                write('fuzz_tls', f'{name}-conn{i}', b'\n\n' + data)
                continue
            write('fuzz_http', f'{name}-conn{i}', data)
            streams = [b''.join(pl for s, pl in chunks if s == side) for side in (0, 1)]
            if b'101 Switching Protocols' not in streams[1]:
                continue
            head = streams[1][:streams[1].index(b'\r\n\r\n')].decode('latin1')
            ext = re.search(r'(?i)sec-websocket-extensions:\s*([^\r\n]*)', head)
            ext = ext.group(1) if ext else ''
            for side in (0, 1):
                s = streams[side]
                if side == 0:
                    at = s.lower().find(b'upgrade: websocket')
                    body = s[s.index(b'\r\n\r\n', at) + 4:]
                else:
                    body = s[s.index(b'\r\n\r\n', s.index(b'101 Switching')) + 4:]
                body = body[:12000]
                pieces = [(0, body[k:k + 700]) for k in range(0, len(body), 700)]
                write('fuzz_websocket', f'{name}-conn{i}-{"cs"[side]}',
                      ext.encode() + b'\n' + bytes([side]) + ops(pieces, 0x0f))
        # TCP reassembly: the first segments of the first 3 connections, as captured.
        out, last_ts = bytearray(), None
        segs = sorted((ts, ci, s, seq, fl, pl) for ci, c in enumerate(connections(path)[:3])
                      for ts, s, seq, fl, pl in c)[:300]
        for ts, ci, s, seq, fl, pl in segs:
            step = 0 if last_ts is None or ts - last_ts < 0.0005 else 1 if ts - last_ts < 0.5 else 2
            last_ts = ts
            ctl = int(s) | ci << 1 | (0x08 if fl & 2 else 0) | (0x10 if fl & 1 else 0) | step << 5
            if fl & 4:
                ctl |= 0xe0
            pl = pl[:4095]
            out += bytes([ctl]) + struct.pack('<IH', seq, len(pl)) + pl
        write('fuzz_tcp_reassembly', name, bytes(out))


def pcap_seeds():
    """The sample captures cut to their first 40 packets (fuzz_pcap; make_seeds.sh adds them
    whole)."""
    for case, name, path in pcaps():
        raw = open(path, 'rb').read()
        e = '<' if struct.unpack('<I', raw[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
        pos = 24
        for _ in range(40):
            if pos + 16 > len(raw):
                break
            pos += 16 + struct.unpack(e + 'I', raw[pos + 8:pos + 12])[0]
        write('fuzz_pcap', f'{name}-40.pcap', raw[:pos])


def har_seeds():
    for case in ('a1', 'a2', 'a3'):
        d = os.path.join(root, 'samples/har', case)
        for f in sorted(os.listdir(d)):
            if not f.endswith('.har'):
                continue
            har = json.load(open(os.path.join(d, f)))
            entries = har['log']['entries']
            keep = [e for e in entries if 'socket.io' in e['request']['url']][:8]
            keep += [e for e in entries if 'socket.io' not in e['request']['url']][:2]
            for e in keep:
                if '_webSocketMessages' in e:
                    e['_webSocketMessages'] = e['_webSocketMessages'][:12]
                e.pop('_initiator', None)
                content = e.get('response', {}).get('content', {})
                if len(content.get('text', '')) > 4000:
                    content.pop('text')
            har['log']['entries'] = keep
            write('fuzz_har', f'{case}-{f[:-4]}-small.har', json.dumps(har, indent=1))
            # Engine.IO and Socket.IO texts as the HAR holds them.
            for e in entries:
                for k, m in enumerate(e.get('_webSocketMessages', [])[:40]):
                    if m.get('opcode') == 1:
                        data = m['data'].encode()
                        write('fuzz_engineio', f'{case}-{f[:-4]}-ws{k}', b'\x00' + data)
                        if data.startswith(b'4'):
                            write('fuzz_socketio', f'{case}-{f[:-4]}-ws{k}', b'\x00' + data[1:])
                if 'transport=polling' in e['request']['url']:
                    text = e['response'].get('content', {}).get('text', '')
                    if text and e['response']['content'].get('encoding') != 'base64':
                        eio3 = 'EIO=3' in e['request']['url']
                        write('fuzz_engineio', f'{case}-{f[:-4]}-poll{zlib.crc32(text.encode()) % 9973}',
                              (b'\x04' if eio3 else b'\x03') + text.encode())


def recording_seeds():
    """The recordings given as arguments (sioreplay record of the samples), cut short."""
    for path in sys.argv[1:]:
        f = os.path.basename(path)
        lines = [l for l in open(path, encoding='utf-8').read().split('\n') if l]
        small = [lines[0]]
        for line in lines[1:]:
            j = json.loads(line)
            if 'messages' in j:
                j['messages'] = j['messages'][:6]
                j.pop('http', None)
            small.append(json.dumps(j, separators=(',', ':'), ensure_ascii=False))
        write('fuzz_recording', f[:-6] + '-small.jsonl', '\n'.join(small[:3] + small[-1:]) + '\n')


def scenario_seeds():
    text = open(os.path.join(root, 'tests/replayer/script_test.cpp')).read()
    for k, m in enumerate(re.finditer(r'R"\((.*?)\)"', text, re.S)):
        if 'scenarios' in m.group(1) or 'config' in m.group(1):
            write('fuzz_scenario', f'script_test-{k}.yml', m.group(1))


def handmade():
    eio = [b'\x000{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}',
           b'\x002probe', b'\x003', b'\x006', b'\x01\x04\x01\x02\x03', b'\x02\xff\x00',
           b'\x030{"sid":"x"}\x1e40\x1e42["a",1]\x1ebAQID', b'\x0497:0{"sid":"x"}2:403:3\xc3\xa9',
           b'\x04b4AQID', b'\x05\x00\x01\xff40\x01\x03\xff\x04\x01\x02',
           b'\x85\x00\x02\xff42\x01\x02\xff\x04\x01']
    for k, s in enumerate(eio):
        write('fuzz_engineio', f'hand{k}', s)
    sio = [b'\x000', b'\x000{"token":"abc"}', b'\x000/admin,{"t":1}', b'\x001/admin,',
           b'\x002["chat",{"text":"hi"}]', b'\x0021["ack-me",1,2]', b'\x003/admin,5[{"ok":true}]',
           b'\x004{"message":"not authorized"}', b'\x014"not authorized"',
           b'\x0051-["bin",{"_placeholder":true,"num":0}]\x00\x01\x02\x03',
           b'\x0062-/x,7[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]\x00ab\x00cd',
           b'\x002["b",{"_binary_b64":"AQID"}]']
    for k, s in enumerate(sio):
        write('fuzz_socketio', f'hand{k}', s)
    cookies = ['\x00\x00example.com\n/socket.io/\nSERVERID=s1; Path=/; HttpOnly\n'
               'io=abc; Max-Age=3600; Secure\nroute=r2; Domain=.example.com; '
               'Expires=Wed, 21 Oct 2037 07:28:00 GMT\nold=1; Max-Age=0',
               '\x00\x01127.0.0.1\n/a/b?x=1\nx="quoted"; path=/a\ny=2; expires=Sunday, 06-Nov-94 '
               '08:49:37 GMT\nz=3; Expires=Sun Nov  6 08:49:37 1994; domain=127.0.0.1',
               '\x00\x00a.b.example.org.\n/\nA=1; Domain=example.org; Path=/; SameSite=Lax\n=v\n']
    for k, s in enumerate(cookies):
        write('fuzz_cookie', f'hand{k}', s)
    templates = ['{"user":{"name":"ann","ids":[1,2]},"n":3}\n{{ user.name }}-{{ user.ids[1] }}',
                 '{"a":{"b c":[{"d":1}]}}\n{{ a["b c"][0].d }}', '{}\n{{ $randomNumber(1, 10) }}',
                 '{}\nid-{{ $randomString(8) }}-{{ $uuid }}', '{"x":"{{ y }}","y":5}\n{{x}}',
                 '{"t":"http://a"}\n{{ target }}/{{ $env.HOME }}/{{ $loopCount }}',
                 '{"o":{"k":[true,null,1.5]}}\nv={{ o }}', '{"z":1}\n{{{ z }}}']
    for k, s in enumerate(templates):
        write('fuzz_template', f'hand{k}', s)
    # A WebSocket frame stream with permessage-deflate (a compressed text frame, masked).
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = c.compress(b'42["chat","hello hello hello"]') + c.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]
    mask = b'\x01\x02\x03\x04'
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    frame = bytes([0xc1, 0x80 | len(payload)]) + mask + masked
    ping = bytes([0x89, 0x80]) + mask
    write('fuzz_websocket', 'hand-deflate', b'permessage-deflate; client_max_window_bits=15\n\x00'
          + ops([(0, frame + ping)], 0x0f))
    frag = bytes([0x01, 3]) + b'abc' + bytes([0x80, 3]) + b'def' + bytes([0x88, 2, 3, 0xe8])
    write('fuzz_websocket', 'hand-fragments', b'\n\x01' + ops([(0, frag)], 0x0f))


stream_seeds()
pcap_seeds()
har_seeds()
recording_seeds()
scenario_seeds()
handmade()
