#include "sio/recorder/session_builder.hpp"

#include "sio/common/socketio.hpp"

#include <algorithm>
#include <unordered_set>

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

SessionDraft& SessionBuilder::session(const std::string& sid, const std::string& leg) {
  const std::string key = leg.empty() ? sid : sid + '\n' + leg;
  if (const auto it = by_sid_.find(key); it != by_sid_.end()) return *it->second;
  auto draft = std::make_unique<SessionDraft>();
  draft->meta.sid = sid;
  draft->leg = leg;
  draft->key = key;
  ++sessions_seen_;
  SessionDraft& ref = *draft;
  drafts_.push_back(std::move(draft));
  by_sid_.emplace(key, &ref);
  return ref;
}

void SessionBuilder::mark_legs(std::vector<SessionDraft*>& legs, LegChoice choice,
                               std::vector<SessionDraft*>& drop) {
  std::sort(legs.begin(), legs.end(), [](const SessionDraft* a, const SessionDraft* b) {
    return a->first_us != b->first_us ? a->first_us < b->first_us : a->leg < b->leg;
  });
  SessionDraft* client = legs.front();
  for (std::size_t i = 1; i < legs.size(); ++i) {
    SessionDraft* up = legs[i];
    up->meta.upstream = up->meta.server;
    if (client->meta.upstream.empty()) client->meta.upstream = up->meta.server;
    if (choice == LegChoice::client) drop.push_back(up);
    if (choice == LegChoice::both) up->meta.leg = "upstream";
  }
  if (choice == LegChoice::upstream) drop.push_back(client);
  if (choice == LegChoice::both) client->meta.leg = "client";
}

void SessionBuilder::forget(const std::vector<SessionDraft*>& gone) {
  if (gone.empty()) return;
  const std::unordered_set<const SessionDraft*> set(gone.begin(), gone.end());
  for (const SessionDraft* d : gone) {
    by_sid_.erase(d->key); // (meta may be moved out already)
    for (const auto o : d->origins) origins_.erase(o);
  }
  std::erase_if(drafts_,
                [&](const std::unique_ptr<SessionDraft>& d) { return set.count(d.get()); });
  std::erase_if(page_exchanges_, [](const PageExchange& x) { return x.attached; });
}

std::size_t SessionBuilder::resolve_legs(LegChoice choice) {
  std::map<std::string, std::vector<SessionDraft*>> by_sid;
  for (auto& d : drafts_) by_sid[d->meta.sid].push_back(d.get());
  std::size_t multi = 0;
  std::vector<SessionDraft*> drop;
  for (auto& [sid, legs] : by_sid) {
    if (legs.size() < 2) continue;
    ++multi;
    mark_legs(legs, choice, drop);
  }
  forget(drop);
  return multi;
}

std::size_t SessionBuilder::flush_ended(std::int64_t now_us, std::int64_t grace_us,
                                        std::int64_t idle_us, LegChoice choice, Sink& sink) {
  const auto ended = [&](const SessionDraft& d) {
    if (d.refs > 0 || d.last_us == std::numeric_limits<std::int64_t>::min()) return false;
    return now_us - d.last_us > (d.closed ? grace_us : idle_us);
  };
  // Group by sid; a group ends when all its legs have.
  std::unordered_map<std::string_view, std::vector<SessionDraft*>> groups;
  std::unordered_set<std::string_view> blocked;
  for (auto& d : drafts_) {
    if (!ended(*d)) {
      blocked.insert(d->meta.sid);
      continue;
    }
    groups[d->meta.sid].push_back(d.get());
  }
  std::vector<SessionDraft*> done, drop;
  std::size_t multi = 0;
  std::int64_t open_from = std::numeric_limits<std::int64_t>::max();
  for (auto& d : drafts_)
    if (blocked.count(d->meta.sid)) open_from = std::min(open_from, d->first_us);
  for (auto& [sid, legs] : groups) {
    if (blocked.count(sid)) continue;
    if (legs.size() > 1) {
      ++multi;
      mark_legs(legs, choice, drop);
    }
    for (SessionDraft* d : legs)
      if (std::find(drop.begin(), drop.end(), d) == drop.end()) done.push_back(d);
  }
  if (done.empty() && drop.empty()) return 0;
  sort_by_start(done);
  const auto pages = attach_pages(done, open_from);
  for (std::size_t i = 0; i < done.size(); ++i) sink.on_session(make_session(*done[i], pages[i]));
  done.insert(done.end(), drop.begin(), drop.end());
  forget(done);
  return multi;
}

std::size_t SessionBuilder::finish_into(LegChoice choice, Sink& sink) {
  const std::size_t multi = resolve_legs(choice);
  const std::vector<SessionDraft*> order = in_start_order();
  const auto pages = attach_pages(order, std::numeric_limits<std::int64_t>::max());
  for (std::size_t i = 0; i < order.size(); ++i) sink.on_session(make_session(*order[i], pages[i]));
  drafts_.clear();
  by_sid_.clear();
  page_exchanges_.clear();
  return multi;
}

SessionDraft* SessionBuilder::find(const std::string& sid) {
  const auto it = by_sid_.find(sid);
  return it == by_sid_.end() ? nullptr : it->second;
}

std::uint32_t SessionBuilder::add_origin(std::string where, bool indexed) {
  const std::uint32_t id = next_origin_++;
  origins_.emplace(id, std::pair{std::move(where), indexed});
  return id;
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
  if (p.packet.type == eio::PacketType::close) s.closed = true;
  if (s.origins.empty() || s.origins.back() != p.origin) s.origins.push_back(p.origin);
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
      Json h = parse_json_bounded(ep.data);
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

void SessionBuilder::sort_by_start(std::vector<SessionDraft*>& drafts) {
  std::sort(drafts.begin(), drafts.end(), [](const SessionDraft* a, const SessionDraft* b) {
    return a->first_us != b->first_us ? a->first_us < b->first_us : a->meta.sid < b->meta.sid;
  });
}

std::vector<SessionDraft*> SessionBuilder::in_start_order() {
  std::vector<SessionDraft*> order;
  order.reserve(drafts_.size());
  for (auto& d : drafts_) {
    if (d->first_us == std::numeric_limits<std::int64_t>::max()) d->first_us = 0; // no packet
    order.push_back(d.get());
  }
  sort_by_start(order);
  return order;
}

std::vector<std::vector<PageExchange*>>
SessionBuilder::attach_pages(const std::vector<SessionDraft*>& order, std::int64_t before_us) {
  // Attach each page exchange to one session of its page: the earliest-started session still
  // open at the exchange's time (or the last one), so every exchange is listed exactly once.
  std::vector<std::vector<PageExchange*>> attached(order.size());
  if (order.empty()) return attached;
  std::map<std::string, std::vector<std::size_t>> by_page; // pageref -> indexes into order
  for (std::size_t i = 0; i < order.size(); ++i) by_page[order[i]->pageref].push_back(i);
  for (auto& x : page_exchanges_) {
    if (x.attached || x.exchange.t_us >= before_us) continue;
    x.attached = true;
    auto it = by_page.find(x.pageref);
    if (it == by_page.end()) it = by_page.find(std::string());
    const std::vector<std::size_t>* group = it != by_page.end() ? &it->second : nullptr;
    if (group == nullptr || group->empty()) {
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
  return attached;
}

Session SessionBuilder::make_session(SessionDraft& d, const std::vector<PageExchange*>& pages) {
  if (d.first_us == std::numeric_limits<std::int64_t>::max()) d.first_us = 0;
  if (d.last_us < d.first_us) d.last_us = d.first_us;
  Session s = std::move(d.meta);
  s.started_us = d.first_us;
  s.duration_us = d.last_us - d.first_us;
  for (PageExchange* x : pages) {
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
  return s;
}

Recording SessionBuilder::finish(std::vector<std::string> sources) {
  Recording rec;
  rec.sources = std::move(sources);
  const std::vector<SessionDraft*> order = in_start_order();
  const auto pages = attach_pages(order, std::numeric_limits<std::int64_t>::max());
  rec.sessions.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    rec.sessions.push_back(make_session(*order[i], pages[i]));
    rec.sessions.back().id = i + 1;
  }
  drafts_.clear();
  by_sid_.clear();
  page_exchanges_.clear();
  rec.diagnostics = std::move(diagnostics_);
  return rec;
}

} // namespace sio::recorder
