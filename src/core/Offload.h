// offload(): run a blocking callable on a worker pool and resume the awaiting coroutine on its
// own executor with the result. Used for SQLite and CPU-heavy work; never block an I/O thread.
// Thread-safety: callable from any coroutine; `f` runs on a pool thread.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>

namespace troupe {

template <class F>
auto offload(boost::asio::thread_pool& pool, F f)
    -> boost::asio::awaitable<std::invoke_result_t<F>> {
  using R = std::invoke_result_t<F>;
  namespace asio = boost::asio;
  if constexpr (std::is_void_v<R>) {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&pool, &f](auto handler) {
          asio::post(pool, [f = std::move(f), handler = std::move(handler)]() mutable {
            f();
            auto ex = asio::get_associated_executor(handler);
            asio::dispatch(ex, std::move(handler));
          });
        },
        asio::use_awaitable);
  } else {
    std::optional<R> out;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&pool, &f, &out](auto handler) {
          asio::post(pool, [f = std::move(f), &out, handler = std::move(handler)]() mutable {
            out.emplace(f());
            auto ex = asio::get_associated_executor(handler);
            asio::dispatch(ex, std::move(handler));
          });
        },
        asio::use_awaitable);
    co_return std::move(*out);
  }
}

}  // namespace troupe
