#include "cards/Inflater.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace troupe::cards::zlib_stream {

namespace {

// Feeds zlib at most this many bytes per call so sizes always fit its 32-bit counters.
constexpr std::size_t kStep = std::size_t{1} << 20;

class InflateStream {
 public:
  InflateStream() { ok_ = inflateInit(&z_) == Z_OK; }
  ~InflateStream() {
    if (ok_) inflateEnd(&z_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  bool ok() const { return ok_; }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool ok_ = false;
};

}  // namespace

Result<std::string> inflate(std::string_view compressed, std::size_t max_out) {
  InflateStream s;
  if (!s.ok()) return Error{Errc::internal, "zlib: inflateInit failed"};
  z_stream& z = s.z();
  std::string out;
  std::size_t in_pos = 0;
  char buf[16384];
  for (;;) {
    if (z.avail_in == 0 && in_pos < compressed.size()) {
      const std::size_t n = std::min(kStep, compressed.size() - in_pos);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + in_pos));
      z.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = ::inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = sizeof buf - z.avail_out;
    if (out.size() + produced > max_out) {
      return Error{Errc::too_large, "compressed text inflates past the limit of " +
                                        std::to_string(max_out) + " bytes"};
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in != 0 || in_pos != compressed.size()) {
        return Error{Errc::bad_request, "zlib: data after the end of the compressed stream"};
      }
      return out;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_pos == compressed.size()) {
      return Error{Errc::bad_request, "zlib: truncated compressed stream"};
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Error{Errc::bad_request, std::string("zlib: corrupt compressed stream (") +
                                          (z.msg ? z.msg : "error") + ")"};
    }
  }
}

std::string deflate(std::string_view raw) {
  static_assert(sizeof(uLong) >= 4);
  uLongf cap = compressBound(static_cast<uLong>(raw.size()));
  std::string out(cap, '\0');
  const int rc =
      compress(reinterpret_cast<Bytef*>(out.data()), &cap,
               reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()));
  if (rc != Z_OK) return {};
  out.resize(cap);
  return out;
}

}  // namespace troupe::cards::zlib_stream
