#include "chat/UserService.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {
constexpr int kChatPage = 200;
// Pages of chats (and characters) cleaned up one by one; beyond them (none in practice) the final
// store transaction still deletes the rows, without the per-item clean-up.
constexpr int kMaxChatPages = 10000;
constexpr auto kStopPoll = std::chrono::milliseconds(10);
constexpr int kStopPolls = 1000;  // 10 s for a stopped generation to store its final state
}  // namespace

asio::awaitable<void> UserService::stop_generation(store::Id chat_id) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < kStopPolls; ++i) {
    auto gid = gm_.running(chat_id);
    if (!gid) co_return;
    gm_.stop(*gid);
    t.expires_after(kStopPoll);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  spdlog::warn("chat {}: generation still running after stop; deleting the chat anyway", chat_id);
}

asio::awaitable<Status> UserService::remove(const store::User& caller, store::Id user_id) {
  if (!caller.is_admin) co_return make_error(Errc::forbidden, "admin token required");
  if (caller.id == user_id) {
    co_return make_error(Errc::bad_request, "an administrator cannot delete their own user");
  }
  auto user = co_await offload(d_.db_pool, [&] { return d_.users.get_user(user_id); });
  if (!user.ok()) co_return user.error();
  // From here on the user's requests are refused, so nothing new of theirs is started.
  auth_.revoke_user(user_id);

  store::Id after = 0;
  for (int page = 0; page < kMaxChatPages; ++page) {
    auto chats = co_await offload(d_.db_pool, [&] {
      return d_.chats.list_chats(user_id, 0, after, kChatPage);
    });
    if (!chats.ok()) co_return chats.error();
    if (chats->empty()) break;
    for (const auto& chat : *chats) {
      after = chat.id;
      co_await stop_generation(chat.id);
      auto s = co_await chats_.remove(*user, chat.id);
      if (!s.ok() && s.error().code != Errc::not_found) {
        // The store transaction below still deletes it; only its clean-up is left undone.
        spdlog::warn("user {}: chat {} not removed on its own: {}", user_id, chat.id, s.error().message);
      }
    }
  }
  if (d_.memory) {
    // Each character's space is dropped by name (indexes and caches), even one that holds nothing.
    store::ListQuery q;
    q.limit = 200;
    for (int page = 0; page < kMaxChatPages; ++page) {
      auto chars = co_await offload(d_.db_pool, [&] { return d_.characters.list_characters(user_id, q); });
      if (!chars.ok()) co_return chars.error();
      if (chars->empty()) break;
      for (const auto& c : *chars) {
        q.after_id = c.id;
        auto f = co_await d_.memory->forget_character(user_id, c.id);
        if (!f.ok()) co_return f;
      }
    }
    auto f = co_await d_.memory->forget_user(user_id);
    if (!f.ok()) co_return f;
  }
  auto s = co_await offload(d_.db_pool, [&] {
    auto r = d_.users.delete_user(user_id);
    if (d_.contexts) d_.contexts->forget_user(user_id);
    return r;
  });
  if (!s.ok()) co_return s;
  spdlog::info("user {} ({}) deleted by {}", user->name, user_id, caller.name);
  co_return Status{};
}

}  // namespace troupe::chat
