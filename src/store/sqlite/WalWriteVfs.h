// WalWriteVfs: an SQLite VFS layered over the default one that turns a commit's WAL writes into
// one write system call. SQLite appends each WAL frame as two writes (24-byte frame header, then
// the page), so a group commit of a few dozen pages costs dozens of pwrite calls before its
// fsync. This layer keeps appends to a WAL file in a buffer while they are contiguous and writes
// the buffer in one call:
//   - at the WAL file's xSync (the commit's fsync with synchronous=FULL: the frames are on disk
//     before SQLite publishes them in the wal-index, exactly as without this layer);
//   - before any other operation through this VFS on the same thread (a read, truncate, size,
//     lock, close, shared-memory call or barrier on any file), so every other access sees the
//     writes in their original order;
//   - when a write is not contiguous with the buffer, or the buffer would pass kMaxBuffer.
// A buffer is written in parts of at most kMaxWrite bytes (see there).
// A crash loses only buffered frames that were never synced, which SQLite treats like frames never
// written. A failed buffered write is reported by the call that flushes it (xSync, xRead, ...),
// and also by the next call on that WAL file if the flushing call was on another file or could
// not return an error (xShmBarrier); once reported it is cleared, as a failed pwrite would be:
// SQLite rolls the transaction back and writes its frames again.
//
// Valid only for a connection that keeps synchronous=FULL and runs each transaction on one thread
// (the WriteQueue's connection does both); other connections use the default VFS.
// Thread-safety: ensure_registered() from any thread (once, idempotent); files are used by SQLite on the
// connection's thread. counters() may be read from any thread (relaxed atomics).
#pragma once

#include <atomic>
#include <cstdint>

namespace troupe::store::sqlite {

class WalWriteVfs {
 public:
  static constexpr const char* kName = "troupe-wal";
  static constexpr std::int64_t kMaxBuffer = 1 << 20;  // bytes buffered per WAL file at most
  // The default VFS writes at most 128 KiB - 1 per call (it masks larger sizes), so a buffer is
  // written in parts of this size: still one call per ~30 frames instead of two per frame.
  static constexpr std::int64_t kMaxWrite = 124 << 10;

  // Registers the VFS under kName (not as the default). Returns kName, or nullptr when the
  // default VFS is missing or registration failed (callers then open with the default VFS).
  static const char* ensure_registered();

  struct Counters {
    std::atomic<std::uint64_t> buffered_writes{0};  // WAL writes taken into a buffer
    std::atomic<std::uint64_t> flushes{0};          // buffers written (in kMaxWrite parts)
    std::atomic<std::uint64_t> failed_flushes{0};
    std::atomic<std::uint64_t> wal_syncs{0};
    // WAL syncs that found bytes still buffered (would fsync without them): must stay 0.
    std::atomic<std::uint64_t> syncs_with_buffered_bytes{0};
  };
  static Counters& counters();
};

}  // namespace troupe::store::sqlite
