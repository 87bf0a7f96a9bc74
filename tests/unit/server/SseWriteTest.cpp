// SseStream::write_all over a real loopback TCP connection: a burst that fits the socket leaves
// with one send, a burst larger than the socket buffers arrives whole and in order behind it, and
// a client that stops reading is cut off by the write deadline instead of holding the writer.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "Loopback.h"
#include "server/SseStream.h"

namespace troupe::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct Conn {
  asio::io_context io{1};
  tcp::socket client{io};
  beast::tcp_stream server{io};
  Conn() {
    connect_loopback(io, client, server.socket());
    server.socket().non_blocking(true);
  }
  boost::system::error_code write(const std::string& out, std::chrono::milliseconds timeout) {
    auto f = asio::co_spawn(io, SseStream::write_all(server, out, timeout), asio::use_future);
    io.restart();
    io.run_for(std::chrono::seconds(20));
    EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    return f.get();
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 31 + i / 977) % 26);
  return s;
}

TEST(SseWrite, ASmallBurstLeavesAtOnce) {
  Conn c;
  const std::string out = "id: 1\nevent: token\ndata: {}\n\n";
  EXPECT_FALSE(c.write(out, std::chrono::seconds(5)));
  std::string got(out.size(), '\0');
  asio::read(c.client, asio::buffer(got));
  EXPECT_EQ(got, out);
}

TEST(SseWrite, ABurstLargerThanTheSocketArrivesWholeAndInOrder) {
  Conn c;
  const std::string first = pattern(6 << 20);  // more than the loopback socket buffers take
  const std::string second = "id: 2\nevent: done\ndata: {}\n\n";
  std::string got;
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the socket fill first
    std::vector<char> buf(1 << 16);
    boost::system::error_code ec;
    while (got.size() < first.size() + second.size()) {
      std::size_t n = c.client.read_some(asio::buffer(buf), ec);
      if (ec) break;
      got.append(buf.data(), n);
    }
  });
  EXPECT_FALSE(c.write(first, std::chrono::seconds(10)));
  EXPECT_FALSE(c.write(second, std::chrono::seconds(10)));
  reader.join();
  ASSERT_EQ(got.size(), first.size() + second.size());
  EXPECT_TRUE(got.compare(0, first.size(), first) == 0);
  EXPECT_EQ(got.substr(first.size()), second);
}

TEST(SseWrite, AClientThatStopsReadingIsCutOffByTheDeadline) {
  Conn c;
  const auto start = std::chrono::steady_clock::now();
  auto ec = c.write(pattern(32 << 20), std::chrono::milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ec, beast::error::timeout) << ec.message();
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(SseFrame, AnEventIsOneFrameAndARunIsOneFramePerEvent) {
  sync::Event single;
  single.seq = 41;
  single.type = "generation.started";
  single.json = R"({"type":"generation.started","seq":41})";
  std::string out;
  SseStream::frame(single, out);
  EXPECT_EQ(out, "id: 41\nevent: generation.started\ndata: {\"type\":\"generation.started\",\"seq\":41}\n\n");

  sync::Event run;
  run.seq = 42;
  run.count = 3;
  run.type = "token";
  run.json = R"({"seq":42,"text":"a"})" "\n" R"({"seq":43,"text":"b"})" "\n" R"({"seq":44,"text":"c\nd"})";
  out.clear();
  SseStream::frame(run, out);
  EXPECT_EQ(out,
            "id: 42\nevent: token\ndata: {\"seq\":42,\"text\":\"a\"}\n\n"
            "id: 43\nevent: token\ndata: {\"seq\":43,\"text\":\"b\"}\n\n"
            "id: 44\nevent: token\ndata: {\"seq\":44,\"text\":\"c\\nd\"}\n\n");
}

}  // namespace
}  // namespace troupe::server
