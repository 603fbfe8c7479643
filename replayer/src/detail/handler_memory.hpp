#pragma once
/// Memory for the asynchronous operations of a connected user, so that its steady state (reads,
/// writes, think and ack timers on the websocket) runs without heap allocations. Asio 1.74 takes
/// an operation's memory from its completion handler's associated allocator (a nested
/// `allocator_type` and `get_allocator()`); without one it uses a per-thread cache that keeps a
/// single block, which thousands of users on one thread keep missing. A HandlerMemory is one
/// block for one kind of operation of one user (at most one of the kind is outstanding); when it
/// is busy or too small the allocator falls back to operator new and counts it
/// (handler_memory_fallbacks(), which the allocation test checks).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

namespace sio::replayer::detail {

/// Allocations that did not fit a HandlerMemory block (all threads, since the start).
inline std::atomic<std::uint64_t>& handler_memory_fallbacks() noexcept {
  static std::atomic<std::uint64_t> n{0};
  return n;
}

/// The largest operation that fell back to operator new (all threads; to size the blocks when
/// the allocation test reports fallbacks). Kept off the path of operations that fit.
inline std::atomic<std::size_t>& handler_memory_largest() noexcept {
  static std::atomic<std::size_t> n{0};
  return n;
}

/// One block of `Size` bytes, handed out to one operation at a time.
template <std::size_t Size> class HandlerMemory {
public:
  HandlerMemory() = default;
  HandlerMemory(const HandlerMemory&) = delete;
  HandlerMemory& operator=(const HandlerMemory&) = delete;

  void* allocate(std::size_t bytes) {
    if (!busy_ && bytes <= Size) {
      busy_ = true;
      return storage_;
    }
    handler_memory_fallbacks().fetch_add(1, std::memory_order_relaxed);
    if (bytes > handler_memory_largest().load(std::memory_order_relaxed))
      handler_memory_largest().store(bytes, std::memory_order_relaxed); // a hint, not exact
    return ::operator new(bytes);
  }
  void deallocate(void* p) noexcept {
    if (p == storage_)
      busy_ = false;
    else
      ::operator delete(p);
  }

private:
  alignas(std::max_align_t) unsigned char storage_[Size];
  bool busy_ = false; ///< an operation holds storage_
};

/// The allocator a completion handler names as its `allocator_type`.
template <class T, class Memory> class HandlerAllocator {
public:
  using value_type = T;
  explicit HandlerAllocator(Memory& m) noexcept : memory_(&m) {}
  template <class U>
  HandlerAllocator(const HandlerAllocator<U, Memory>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t) noexcept { memory_->deallocate(p); }

  template <class U> bool operator==(const HandlerAllocator<U, Memory>& o) const noexcept {
    return memory_ == o.memory_;
  }
  template <class U> bool operator!=(const HandlerAllocator<U, Memory>& o) const noexcept {
    return memory_ != o.memory_;
  }

private:
  template <class, class> friend class HandlerAllocator;
  Memory* memory_;
};

} // namespace sio::replayer::detail
