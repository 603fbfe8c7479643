#pragma once
/// A FIFO on a vector: pushed at the back, popped from the front by moving a head index.
/// std::deque would do, but libstdc++'s allocates two blocks (about 600 bytes) as soon as it is
/// constructed, and the project keeps many small queues alive at once: per connection in a
/// capture (hundreds of thousands), per virtual user in a replay (tens of thousands). Nothing is
/// allocated before the first push, and the capacity is reused afterwards.

#include <cstddef>
#include <utility>
#include <vector>

namespace sio {

template <class T> class FrontQueue {
public:
  using iterator = typename std::vector<T>::iterator;

  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  T& operator[](std::size_t i) noexcept { return items_[head_ + i]; }
  const T& operator[](std::size_t i) const noexcept { return items_[head_ + i]; }
  T& front() noexcept { return items_[head_]; }
  T& back() noexcept { return items_.back(); }
  const T& back() const noexcept { return items_.back(); }
  iterator begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() noexcept { return items_.end(); }
  void push_back(T v) { items_.push_back(std::move(v)); }
  void pop_front() {
    items_[head_] = T{}; // free what it holds now
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) { // a queue that never empties
      items_.erase(items_.begin(), begin());
      head_ = 0;
    }
  }
  /// Removes one element anywhere in the queue.
  void erase(iterator it) {
    items_.erase(it);
    if (empty()) clear();
  }
  /// Drops all but the last item.
  void keep_last() {
    while (size() > 1) pop_front();
  }
  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

} // namespace sio
