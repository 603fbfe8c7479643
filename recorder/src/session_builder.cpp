#include "sio/recorder/session_builder.hpp"

#include "sio/common/socketio.hpp"

#include <algorithm>

namespace sio::recorder {
namespace {

/// Fills a Message from a decoded Socket.IO packet (data split into event name and args).
Message to_message(sock::Packet&& p, const WirePacket& w, std::int64_t start_us) {
  Message m;
  m.t_us = w.t_us - start_us;
  m.dir = w.dir;
  m.transport = w.transport;
  m.type = p.type;
  m.nsp = std::move(p.nsp);
  m.ack_id = p.ack_id;
  m.attachments = p.attachments;
  switch (p.type) {
  case sock::PacketType::event:
  case sock::PacketType::binary_event:
    if (p.data && p.data->is_array() && !p.data->empty()) {
      auto& all = p.data->get_ref<Json::array_t&>();
      m.event = std::move(all.front());
      all.erase(all.begin()); // what is left are the arguments
      m.args = std::move(*p.data);
    }
    break;
  case sock::PacketType::ack:
  case sock::PacketType::binary_ack:
    m.args = p.data ? std::move(*p.data) : Json::array();
    break;
  case sock::PacketType::connect:
  case sock::PacketType::connect_error:
    m.data = std::move(p.data);
    break;
  case sock::PacketType::disconnect:
    break;
  }
  return m;
}

} // namespace

SessionDraft& SessionBuilder::session(const std::string& sid) {
  if (auto* d = find(sid)) return *d;
  auto draft = std::make_unique<SessionDraft>();
  draft->meta.sid = sid;
  SessionDraft& ref = *draft;
  drafts_.push_back(std::move(draft));
  by_sid_.emplace(sid, &ref);
  return ref;
}

SessionDraft* SessionBuilder::find(const std::string& sid) {
  const auto it = by_sid_.find(sid);
  return it == by_sid_.end() ? nullptr : it->second;
}

std::uint32_t SessionBuilder::add_origin(std::string where, bool indexed) {
  origins_.emplace_back(std::move(where), indexed);
  return static_cast<std::uint32_t>(origins_.size() - 1);
}

const std::string& SessionBuilder::origin_text(std::uint32_t origin) const {
  return origins_.at(origin).first;
}

std::string SessionBuilder::where(std::uint32_t origin, std::uint32_t item) const {
  const auto& [text, indexed] = origins_.at(origin);
  return indexed ? text + "[" + std::to_string(item) + "]"
                 : text + " packet " + std::to_string(item);
}

void SessionBuilder::add(SessionDraft& s, WirePacket p) {
  p.seq = next_seq_++;
  touch(s, p.t_us);
  s.packets.push_back(std::move(p));
}

void SessionBuilder::touch(SessionDraft& s, std::int64_t t_us) {
  s.first_us = std::min(s.first_us, t_us);
  s.last_us = std::max(s.last_us, t_us);
}

void SessionBuilder::saw_transport(SessionDraft& s, Transport t) {
  auto& tr = s.meta.transports;
  if (std::find(tr.begin(), tr.end(), t) == tr.end()) tr.push_back(t);
}

void SessionBuilder::add_cookie(SessionDraft& s, CookieRecord c) {
  auto key = std::make_tuple(static_cast<int>(c.kind), c.name, c.value);
  const auto it = s.cookie_index.find(key);
  if (it != s.cookie_index.end()) {
    auto& existing = s.meta.cookies[it->second];
    ++existing.count;
    if (c.t_us < existing.t_us) { // keep the earliest occurrence
      const auto count = existing.count;
      existing = std::move(c);
      existing.count = count;
    }
    return;
  }
  s.cookie_index.emplace(std::move(key), s.meta.cookies.size());
  s.meta.cookies.push_back(std::move(c));
}

void SessionBuilder::add_page_exchange(PageExchange x) {
  page_exchanges_.push_back(std::move(x));
}

void SessionBuilder::diagnose(std::string kind, std::string where, std::string what,
                              std::string sid) {
  diagnostics_.push_back({std::move(kind), std::move(where), std::move(what), std::move(sid)});
}

void SessionBuilder::decode_session(SessionDraft& d, Session& out) {
  auto& packets = d.packets;
  std::stable_sort(packets.begin(), packets.end(), [](const WirePacket& a, const WirePacket& b) {
    return a.t_us != b.t_us ? a.t_us < b.t_us : a.seq < b.seq;
  });
  const int protocol = sock::protocol_for_eio(out.eio);
  sock::AttachmentCollector collectors[2];
  const WirePacket* pending_wire[2] = {nullptr, nullptr};
  const auto finish_pending = [&](int side, const char* reason) {
    if (!collectors[side].pending()) return;
    auto p = collectors[side].abandon();
    const WirePacket& w = *pending_wire[side];
    diagnose("missing_attachments", where(w.origin, w.item),
             std::string("binary packet lacks some of its ") + std::to_string(p->attachments) +
                 " attachment(s) (" + reason + "); kept with placeholders",
             out.sid);
    out.messages.push_back(to_message(std::move(*p), w, out.started_us));
  };

  for (const WirePacket& w : packets) {
    const int side = w.dir == Direction::client_to_server ? 0 : 1;
    const eio::Packet& ep = w.packet;
    switch (ep.type) {
    case eio::PacketType::open: {
      ++out.engine.open;
      Json h = Json::parse(ep.data, nullptr, false);
      if (h.is_discarded() || !h.is_object())
        diagnose("bad_handshake", where(w.origin, w.item),
                 "the Engine.IO open packet does not hold a JSON object", out.sid);
      else if (!out.handshake)
        out.handshake = std::move(h);
      continue;
    }
    case eio::PacketType::close:
      ++out.engine.close;
      continue;
    case eio::PacketType::ping:
    case eio::PacketType::pong:
      if (ep.data == "probe")
        ++out.engine.probe;
      else if (ep.type == eio::PacketType::ping)
        ++out.engine.ping;
      else
        ++out.engine.pong;
      continue;
    case eio::PacketType::noop:
      ++out.engine.noop;
      continue;
    case eio::PacketType::upgrade:
      ++out.engine.upgrade;
      continue;
    case eio::PacketType::message:
      break;
    }
    if (ep.binary) {
      if (!collectors[side].pending()) {
        diagnose("orphan_attachment", where(w.origin, w.item),
                 "binary data (" + std::to_string(ep.data.size()) +
                     " bytes) with no binary Socket.IO packet waiting for it; dropped",
                 out.sid);
        continue;
      }
      auto r = collectors[side].add(ep.data);
      if (!r) {
        diagnose("bad_attachment", where(w.origin, w.item), r.error().message(), out.sid);
        continue;
      }
      if (r->has_value()) {
        out.messages.push_back(to_message(std::move(**r), *pending_wire[side], out.started_us));
        pending_wire[side] = nullptr;
      }
      continue;
    }
    finish_pending(side, "a text packet came first");
    auto sp = sock::decode(ep.data, protocol);
    if (!sp) {
      std::string shown = ep.data.substr(0, 120);
      diagnose("bad_sio_packet", where(w.origin, w.item),
               sp.error().message() + " in \"" + shown + (ep.data.size() > 120 ? "…" : "") + "\"",
               out.sid);
      continue;
    }
    if (sp->attachments > 0) {
      pending_wire[side] = &w;
      auto st = collectors[side].start(std::move(*sp));
      if (!st) diagnose("bad_attachment", where(w.origin, w.item), st.error().message(), out.sid);
      continue;
    }
    out.messages.push_back(to_message(std::move(*sp), w, out.started_us));
  }
  finish_pending(0, "the session ended");
  finish_pending(1, "the session ended");
  packets.clear();
  packets.shrink_to_fit();
}

Recording SessionBuilder::finish(std::vector<std::string> sources) {
  Recording rec;
  rec.sources = std::move(sources);
  // Order sessions by start time, then sid, so the output does not depend on hash order.
  std::vector<SessionDraft*> order;
  order.reserve(drafts_.size());
  for (auto& d : drafts_) {
    if (d->first_us == std::numeric_limits<std::int64_t>::max()) d->first_us = 0;
    if (d->last_us < d->first_us) d->last_us = d->first_us;
    order.push_back(d.get());
  }
  std::sort(order.begin(), order.end(), [](const SessionDraft* a, const SessionDraft* b) {
    return a->first_us != b->first_us ? a->first_us < b->first_us : a->meta.sid < b->meta.sid;
  });

  // Attach each page exchange to one session of its page: the earliest-started session still
  // open at the exchange's time (or the last one), so every exchange is listed exactly once.
  std::map<std::string, std::vector<std::size_t>> by_page; // pageref -> indexes into order
  for (std::size_t i = 0; i < order.size(); ++i) by_page[order[i]->pageref].push_back(i);
  std::vector<std::vector<PageExchange*>> attached(order.size());
  for (auto& x : page_exchanges_) {
    auto it = by_page.find(x.pageref);
    if (it == by_page.end()) it = by_page.find(std::string());
    const std::vector<std::size_t>* group = it != by_page.end() ? &it->second : nullptr;
    if (group == nullptr || group->empty()) {
      if (order.empty()) continue;
      // No session on that page: attach to the session nearest in time.
      std::size_t best = 0;
      for (std::size_t i = 0; i < order.size(); ++i)
        if (order[i]->first_us <= x.exchange.t_us) best = i;
      attached[best].push_back(&x);
      continue;
    }
    std::size_t chosen = group->back();
    for (const std::size_t i : *group) {
      if (order[i]->last_us >= x.exchange.t_us) {
        chosen = i;
        break;
      }
    }
    attached[chosen].push_back(&x);
  }

  rec.sessions.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    SessionDraft& d = *order[i];
    Session s = std::move(d.meta);
    s.id = i + 1;
    s.started_us = d.first_us;
    s.duration_us = d.last_us - d.first_us;
    for (PageExchange* x : attached[i]) {
      x->exchange.t_us -= s.started_us;
      s.http.push_back(std::move(x->exchange));
      for (auto& c : x->set_cookies) {
        c.t_us -= s.started_us;
        s.cookies.push_back(std::move(c));
      }
    }
    for (auto& c : s.cookies)
      if (c.engineio) c.t_us -= s.started_us;
    std::stable_sort(s.http.begin(), s.http.end(),
                     [](const HttpExchange& a, const HttpExchange& b) { return a.t_us < b.t_us; });
    std::stable_sort(s.cookies.begin(), s.cookies.end(),
                     [](const CookieRecord& a, const CookieRecord& b) { return a.t_us < b.t_us; });
    decode_session(d, s);
    rec.sessions.push_back(std::move(s));
  }
  drafts_.clear();
  by_sid_.clear();
  page_exchanges_.clear();
  rec.diagnostics = std::move(diagnostics_);
  return rec;
}

} // namespace sio::recorder
