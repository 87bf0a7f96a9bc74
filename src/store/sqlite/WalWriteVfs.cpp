#include "store/sqlite/WalWriteVfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace troupe::store::sqlite {
namespace {

// Laid out by SQLite in szOsFile bytes it allocates (never constructed): plain members only.
// The default VFS's file follows this struct in the same allocation.
struct ShimFile {
  sqlite3_file base;  // what SQLite sees; pMethods is kMethods (or null when the open failed)
  sqlite3_file* real;
  int wal;
  int failed_rc;  // a failed buffered write, reported by the next call on this file
  unsigned char* buf;
  sqlite3_int64 cap;
  sqlite3_int64 len;
  sqlite3_int64 off;  // file offset of buf[0]
};
constexpr std::size_t kShimSize = (sizeof(ShimFile) + 15) & ~std::size_t{15};

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs;
const char* g_registered = nullptr;

// The WAL file with buffered bytes on this thread, if any.
thread_local ShimFile* t_pending = nullptr;

ShimFile* shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
const sqlite3_io_methods& real_methods(ShimFile* f) { return *f->real->pMethods; }

int flush(ShimFile* f) {
  if (t_pending == f) t_pending = nullptr;
  if (f->len == 0) return SQLITE_OK;
  const sqlite3_int64 n = f->len;
  f->len = 0;
  int rc = SQLITE_OK;
  for (sqlite3_int64 done = 0; done < n && rc == SQLITE_OK; done += WalWriteVfs::kMaxWrite) {
    const auto part = static_cast<int>(std::min<sqlite3_int64>(n - done, WalWriteVfs::kMaxWrite));
    rc = real_methods(f).xWrite(f->real, f->buf + done, part, f->off + done);
  }
  WalWriteVfs::counters().flushes.fetch_add(1, std::memory_order_relaxed);
  if (rc != SQLITE_OK) {
    f->failed_rc = rc;
    WalWriteVfs::counters().failed_flushes.fetch_add(1, std::memory_order_relaxed);
  }
  return rc;
}

// Before any operation other than a buffered WAL append: the thread's pending bytes go first.
int flush_pending() { return t_pending != nullptr ? flush(t_pending) : SQLITE_OK; }

// A WAL file's own sticky error, reported once, then the file is usable again (as after a
// failed pwrite: SQLite rolls the transaction back and writes its frames again).
int take_failure(ShimFile* f) {
  int rc = f->failed_rc;
  f->failed_rc = SQLITE_OK;
  return rc;
}

// Flushes the thread's pending bytes and, for a WAL file, its own; reports a failure of either.
int before_op(ShimFile* f) {
  int rc = flush_pending();
  if (f->wal) {
    int own = f->len > 0 ? flush(f) : SQLITE_OK;
    int sticky = take_failure(f);
    if (rc == SQLITE_OK) rc = own != SQLITE_OK ? own : sticky;
  }
  return rc;
}

bool reserve(ShimFile* f, sqlite3_int64 need) {
  if (need <= f->cap) return true;
  sqlite3_int64 cap = std::max<sqlite3_int64>(need, std::max<sqlite3_int64>(f->cap * 2, 64 << 10));
  cap = std::min<sqlite3_int64>(cap, WalWriteVfs::kMaxBuffer);
  if (cap < need) return false;
  void* p = sqlite3_realloc64(f->buf, static_cast<sqlite3_uint64>(cap));
  if (p == nullptr) return false;
  f->buf = static_cast<unsigned char*>(p);
  f->cap = cap;
  return true;
}

// Every method that only has to put the thread's pending bytes first: flush, then the default
// VFS's method (the argument types come from the kMethods slot it fills).
template <auto Method, class... Args>
int forwarded(sqlite3_file* pf, Args... args) {
  ShimFile* f = shim(pf);
  if (int rc = before_op(f); rc != SQLITE_OK) return rc;
  return (real_methods(f).*Method)(f->real, args...);
}

int x_close(sqlite3_file* pf) {
  ShimFile* f = shim(pf);
  int rc = before_op(f);
  int rc2 = real_methods(f).xClose(f->real);
  sqlite3_free(f->buf);
  f->buf = nullptr;
  f->cap = 0;
  return rc != SQLITE_OK ? rc : rc2;
}

int x_write(sqlite3_file* pf, const void* p, int n, sqlite3_int64 off) {
  ShimFile* f = shim(pf);
  if (!f->wal) {
    if (int rc = flush_pending(); rc != SQLITE_OK) return rc;
    return real_methods(f).xWrite(f->real, p, n, off);
  }
  if (int rc = take_failure(f); rc != SQLITE_OK) return rc;
  if (t_pending != nullptr && t_pending != f) {
    if (int rc = flush(t_pending); rc != SQLITE_OK) return rc;
  }
  const bool contiguous = f->len > 0 && off == f->off + f->len;
  if (f->len > 0 && (!contiguous || f->len + n > WalWriteVfs::kMaxBuffer)) {
    if (int rc = flush(f); rc != SQLITE_OK) return take_failure(f);
  }
  if (!reserve(f, f->len + n)) {  // larger than the buffer may grow, or out of memory
    if (f->len > 0 && flush(f) != SQLITE_OK) return take_failure(f);
    return real_methods(f).xWrite(f->real, p, n, off);
  }
  if (f->len == 0) f->off = off;
  std::memcpy(f->buf + f->len, p, static_cast<std::size_t>(n));
  f->len += n;
  t_pending = f;
  WalWriteVfs::counters().buffered_writes.fetch_add(1, std::memory_order_relaxed);
  return SQLITE_OK;
}

int x_sync(sqlite3_file* pf, int flags) {
  ShimFile* f = shim(pf);
  if (int rc = before_op(f); rc != SQLITE_OK) return rc;
  if (f->wal) {
    auto& c = WalWriteVfs::counters();
    c.wal_syncs.fetch_add(1, std::memory_order_relaxed);
    if (f->len > 0) c.syncs_with_buffered_bytes.fetch_add(1, std::memory_order_relaxed);
  }
  return real_methods(f).xSync(f->real, flags);
}

// Pure queries: no I/O, nothing to order.
int x_sector_size(sqlite3_file* pf) { return real_methods(shim(pf)).xSectorSize(shim(pf)->real); }
int x_device(sqlite3_file* pf) {
  return real_methods(shim(pf)).xDeviceCharacteristics(shim(pf)->real);
}

int x_shm_map(sqlite3_file* pf, int page, int size, int extend, void volatile** pp) {
  ShimFile* f = shim(pf);
  if (real_methods(f).iVersion < 2) return SQLITE_IOERR;
  if (int rc = before_op(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xShmMap(f->real, page, size, extend, pp);
}

int x_shm_lock(sqlite3_file* pf, int offset, int n, int flags) {
  ShimFile* f = shim(pf);
  if (real_methods(f).iVersion < 2) return SQLITE_IOERR;
  if (int rc = before_op(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xShmLock(f->real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* pf) {
  ShimFile* f = shim(pf);
  (void)flush_pending();  // a failure stays on its WAL file and fails that file's next call
  if (real_methods(f).iVersion >= 2) real_methods(f).xShmBarrier(f->real);
}

int x_shm_unmap(sqlite3_file* pf, int remove) {
  ShimFile* f = shim(pf);
  if (real_methods(f).iVersion < 2) return SQLITE_OK;
  if (int rc = before_op(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xShmUnmap(f->real, remove);
}

int x_fetch(sqlite3_file* pf, sqlite3_int64 off, int n, void** pp) {
  ShimFile* f = shim(pf);
  *pp = nullptr;
  if (real_methods(f).iVersion < 3) return SQLITE_OK;
  if (int rc = before_op(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFetch(f->real, off, n, pp);
}

int x_unfetch(sqlite3_file* pf, sqlite3_int64 off, void* p) {
  ShimFile* f = shim(pf);
  if (real_methods(f).iVersion < 3) return SQLITE_OK;
  return real_methods(f).xUnfetch(f->real, off, p);
}

using M = sqlite3_io_methods;
const sqlite3_io_methods kMethods = {
    3,
    x_close,
    forwarded<&M::xRead>,
    x_write,
    forwarded<&M::xTruncate>,
    x_sync,
    forwarded<&M::xFileSize>,
    forwarded<&M::xLock>,
    forwarded<&M::xUnlock>,
    forwarded<&M::xCheckReservedLock>,
    forwarded<&M::xFileControl>,
    x_sector_size,
    x_device,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* out, int flags, int* out_flags) {
  ShimFile* f = shim(out);
  std::memset(f, 0, sizeof(ShimFile));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kShimSize);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0 ? 1 : 0;
  if (int rc = flush_pending(); rc != SQLITE_OK) return rc;
  int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open: mirror the base.
  out->pMethods = f->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}

int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (int rc = flush_pending(); rc != SQLITE_OK) return rc;
  return g_base->xDelete(g_base, name, sync_dir);
}

int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  if (int rc = flush_pending(); rc != SQLITE_OK) return rc;
  return g_base->xAccess(g_base, name, flags, out);
}

int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void v_dl_error(sqlite3_vfs*, int n, char* msg) { g_base->xDlError(g_base, n, msg); }
void (*v_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_base->xDlSym(g_base, h, sym);
}
void v_dl_close(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int v_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int v_sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int v_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int v_last_error(sqlite3_vfs*, int n, char* out) { return g_base->xGetLastError(g_base, n, out); }
int v_current_time64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

void register_once() {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr || base->iVersion < 2) return;
  g_base = base;
  std::memset(&g_vfs, 0, sizeof g_vfs);
  g_vfs.iVersion = 2;  // no system-call overrides through this layer
  g_vfs.szOsFile = static_cast<int>(kShimSize) + base->szOsFile;
  g_vfs.mxPathname = base->mxPathname;
  g_vfs.zName = WalWriteVfs::kName;
  g_vfs.xOpen = v_open;
  g_vfs.xDelete = v_delete;
  g_vfs.xAccess = v_access;
  g_vfs.xFullPathname = v_full_pathname;
  g_vfs.xDlOpen = v_dl_open;
  g_vfs.xDlError = v_dl_error;
  g_vfs.xDlSym = v_dl_sym;
  g_vfs.xDlClose = v_dl_close;
  g_vfs.xRandomness = v_randomness;
  g_vfs.xSleep = v_sleep;
  g_vfs.xCurrentTime = v_current_time;
  g_vfs.xGetLastError = v_last_error;
  g_vfs.xCurrentTimeInt64 = v_current_time64;
  if (sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK) g_registered = WalWriteVfs::kName;
}

}  // namespace

const char* WalWriteVfs::ensure_registered() {
  static std::once_flag once;
  std::call_once(once, register_once);
  return g_registered;
}

WalWriteVfs::Counters& WalWriteVfs::counters() {
  static Counters c;
  return c;
}

}  // namespace troupe::store::sqlite
