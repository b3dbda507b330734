#include "tether/frame_pool.h"

#include <utility>

namespace tether {

void ReleaseFrameBuffer(const std::weak_ptr<FramePool>& pool, uint64_t lease_id) {
  if (std::shared_ptr<FramePool> p = pool.lock()) p->Release(lease_id);
}

FramePool::FramePool(Factory factory, size_t buffer_bytes, size_t max_buffers)
    : factory_(std::move(factory)), buffer_bytes_(buffer_bytes), max_buffers_(max_buffers) {}

bool FramePool::Acquire(Lease* lease) {
  std::lock_guard<std::mutex> lock(mutex_);
  Slot* best = nullptr;
  size_t best_index = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.lease_id == 0 && (best == nullptr || s.content_sequence > best->content_sequence)) {
      best = &s;
      best_index = i;
    }
  }
  if (best == nullptr) {
    if (slots_.size() >= max_buffers_) return false;
    std::shared_ptr<FrameBuffer> buffer = factory_(buffer_bytes_);
    if (!buffer) return false;
    slots_.push_back(Slot{std::move(buffer), 0, 0});
    best_index = slots_.size() - 1;
    best = &slots_.back();
  }
  best->lease_id = next_lease_id_++;
  lease->buffer = best->buffer;
  lease->id = best->lease_id;
  lease->content_sequence = best->content_sequence;
  lease->slot = best_index;
  return true;
}

void FramePool::SetContent(const Lease& lease, uint64_t sequence) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (lease.slot < slots_.size() && slots_[lease.slot].lease_id == lease.id) {
    slots_[lease.slot].content_sequence = sequence;
  }
}

void FramePool::Release(uint64_t lease_id) {
  if (lease_id == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (Slot& s : slots_) {
    if (s.lease_id == lease_id) {
      s.lease_id = 0;
      return;
    }
  }
}

void FramePool::InvalidateContent() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Slot& s : slots_) s.content_sequence = 0;
}

size_t FramePool::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slots_.size();
}

size_t FramePool::leased() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const Slot& s : slots_) n += s.lease_id != 0 ? 1 : 0;
  return n;
}

void FramePool::ForEachBuffer(
    const std::function<void(const std::shared_ptr<FrameBuffer>&)>& fn) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Slot& s : slots_) fn(s.buffer);
}

}  // namespace tether
