// WsProtocol: the meaning of client frames on /ws (subscribe, unsubscribe, ping) for one
// authenticated connection. The server owns the socket and the subscription pumps; this class
// only decides what each frame asks for.
// Thread-safety: one instance per connection, used from that connection's strand only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "api/Services.h"

namespace troupe::api {

struct WsAction {
  enum class Kind { send, subscribe, unsubscribe } kind = Kind::send;
  std::string text;                               // frame to send first (ack or error)
  std::shared_ptr<sync::Subscription> subscription;  // Kind::subscribe
  std::int64_t chat_id = 0;                       // Kind::subscribe / unsubscribe
};

class WsProtocol {
 public:
  WsProtocol(Services& s, store::User user) : s_(s), user_(std::move(user)) {}
  // `subscribed` = number of live subscriptions of the connection (limit 32).
  boost::asio::awaitable<WsAction> on_text(std::string_view frame, std::size_t subscribed);
  static std::string error_frame(std::string_view code, std::string_view message);

 private:
  Services& s_;
  store::User user_;
};

}  // namespace troupe::api
