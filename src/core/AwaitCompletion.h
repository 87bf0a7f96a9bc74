// await_completion(): awaits a callback-style operation `start(done)`, where `done(T)` may be
// called on any thread (an SQLite writer thread after its commit, for example). The coroutine
// resumes on its own executor with the value; it never runs on the thread that called `done`.
// With `on_pool` set, `start` itself runs on that pool (for a blocking `start` that calls `done`
// before returning); without it, `start` runs right here and must not block.
// Thread-safety: callable from any coroutine; `done` exactly once, from any thread.
// Cancellation: none; the operation is short and its result is always delivered (a write that was
// asked for is committed or fails whether the caller still waits or not).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>

namespace troupe {

template <class T, class Start>
boost::asio::awaitable<T> await_completion(Start start, boost::asio::thread_pool* on_pool = nullptr) {
  namespace asio = boost::asio;
  std::optional<T> out;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&out, &start, on_pool](auto handler) {
        // std::function needs a copyable callable: the (move-only) handler lives in a shared_ptr.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        std::function<void(T)> done = [&out, h](T value) {
          out.emplace(std::move(value));
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, std::move(*h));
        };
        if (on_pool) {
          asio::post(*on_pool, [&start, done = std::move(done)]() mutable { start(std::move(done)); });
        } else {
          start(std::move(done));
        }
      },
      asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace troupe
