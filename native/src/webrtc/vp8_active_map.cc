#include "tether/vp8_active_map.h"

#include <algorithm>
#include <cstring>

namespace tether {

namespace {

// Copies the w x h block at (x, y) from src (stride ss) into dst (stride sd).
void CopyBlock(uint8_t* dst, int sd, const uint8_t* src, int ss, unsigned x, unsigned y, unsigned w,
               unsigned h) {
  for (unsigned r = 0; r < h; ++r)
    std::memcpy(dst + static_cast<size_t>(y + r) * static_cast<size_t>(sd) + x,
                src + static_cast<size_t>(y + r) * static_cast<size_t>(ss) + x, w);
}

}  // namespace

bool Vp8ActiveMapTracker::SameFormat(const vpx_image_t& img) const {
  return have_copy_ && img.d_w == width_ && img.d_h == height_;
}

void Vp8ActiveMapTracker::CopyAll(const vpx_image_t& img) {
  width_ = img.d_w;
  height_ = img.d_h;
  cols_ = (width_ + 15) / 16;
  rows_ = (height_ + 15) / 16;
  const unsigned cw = (width_ + 1) / 2, ch = (height_ + 1) / 2;
  y_.resize(static_cast<size_t>(width_) * height_);
  u_.resize(static_cast<size_t>(cw) * ch);
  v_.resize(static_cast<size_t>(cw) * ch);
  CopyBlock(y_.data(), static_cast<int>(width_), img.planes[VPX_PLANE_Y], img.stride[VPX_PLANE_Y],
            0, 0, width_, height_);
  CopyBlock(u_.data(), static_cast<int>(cw), img.planes[VPX_PLANE_U], img.stride[VPX_PLANE_U], 0, 0,
            cw, ch);
  CopyBlock(v_.data(), static_cast<int>(cw), img.planes[VPX_PLANE_V], img.stride[VPX_PLANE_V], 0, 0,
            cw, ch);
  pending_.assign(static_cast<size_t>(rows_) * cols_, kFineFrames);
  map_.assign(pending_.size(), 1);
  have_copy_ = true;
}

Vp8ActiveMapTracker::Decision Vp8ActiveMapTracker::Prepare(const vpx_image_t& img, bool refs_last,
                                                           bool key) {
  if (img.fmt != VPX_IMG_FMT_I420 || img.d_w == 0 || img.d_h == 0 ||
      img.planes[VPX_PLANE_Y] == nullptr || img.planes[VPX_PLANE_U] == nullptr ||
      img.planes[VPX_PLANE_V] == nullptr) {
    have_copy_ = false;  // nothing known: the next I420 frame starts over
    return Decision::kDisableMap;
  }
  if (!SameFormat(img)) {
    CopyAll(img);  // everything pending
    return Decision::kDisableMap;
  }
  const unsigned cw = (width_ + 1) / 2, ch = (height_ + 1) / 2;
  const int sy = static_cast<int>(width_), sc = static_cast<int>(cw);
  std::vector<unsigned char>& changed = changed_;
  changed.assign(cols_, 0);
  // Row by row: a whole line is compared at once (most lines are unchanged), and only a line that
  // differs is looked at per macroblock.
  auto scan = [&](const uint8_t* img_plane, int img_stride, const uint8_t* copy, int copy_stride,
                  unsigned line, unsigned width, unsigned mb) {
    const uint8_t* a = img_plane + static_cast<size_t>(line) * static_cast<size_t>(img_stride);
    const uint8_t* b = copy + static_cast<size_t>(line) * static_cast<size_t>(copy_stride);
    if (std::memcmp(a, b, width) == 0) return;
    for (unsigned c = 0, x = 0; c < cols_ && x < width; ++c, x += mb) {
      if (changed[c]) continue;
      const unsigned n = std::min(mb, width - x);
      if (n == mb && mb == 16) {
        uint64_t p[2], q[2];
        std::memcpy(p, a + x, 16);
        std::memcpy(q, b + x, 16);
        changed[c] = ((p[0] ^ q[0]) | (p[1] ^ q[1])) != 0;
      } else if (n == mb && mb == 8) {
        uint64_t p, q;
        std::memcpy(&p, a + x, 8);
        std::memcpy(&q, b + x, 8);
        changed[c] = p != q;
      } else {
        changed[c] = std::memcmp(a + x, b + x, n) != 0;
      }
    }
  };
  for (unsigned r = 0; r < rows_; ++r) {
    std::fill(changed.begin(), changed.end(), 0);
    const unsigned y = r * 16, h = std::min(16u, height_ - y);
    const unsigned yc = r * 8, hc = yc < ch ? std::min(8u, ch - yc) : 0;
    for (unsigned l = 0; l < h; ++l)
      scan(img.planes[VPX_PLANE_Y], img.stride[VPX_PLANE_Y], y_.data(), sy, y + l, width_, 16);
    for (unsigned l = 0; l < hc; ++l) {
      scan(img.planes[VPX_PLANE_U], img.stride[VPX_PLANE_U], u_.data(), sc, yc + l, cw, 8);
      scan(img.planes[VPX_PLANE_V], img.stride[VPX_PLANE_V], v_.data(), sc, yc + l, cw, 8);
    }
    // Mark, and copy each run of changed macroblocks into the copy in one go per line.
    for (unsigned c = 0; c < cols_;) {
      if (!changed[c]) {
        ++c;
        continue;
      }
      unsigned end = c;
      while (end < cols_ && changed[end])
        pending_[static_cast<size_t>(r) * cols_ + end++] = kFineFrames;
      const unsigned x = c * 16, w = std::min(end * 16, width_) - x;
      CopyBlock(y_.data(), sy, img.planes[VPX_PLANE_Y], img.stride[VPX_PLANE_Y], x, y, w, h);
      const unsigned xc = c * 8;
      if (xc < cw && hc > 0) {
        const unsigned wc = std::min(end * 8, cw) - xc;
        CopyBlock(u_.data(), sc, img.planes[VPX_PLANE_U], img.stride[VPX_PLANE_U], xc, yc, wc, hc);
        CopyBlock(v_.data(), sc, img.planes[VPX_PLANE_V], img.stride[VPX_PLANE_V], xc, yc, wc, hc);
      }
      c = end;
    }
  }
  if (key || !refs_last) return Decision::kDisableMap;
  map_.resize(pending_.size());
  active_ = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    map_[i] = pending_[i] > 0 ? 1 : 0;
    active_ += map_[i];
  }
  return Decision::kUseMap;
}

size_t Vp8ActiveMapTracker::pending() const {
  if (!have_copy_) return 0;
  return static_cast<size_t>(pending_.size() - std::count(pending_.begin(), pending_.end(), 0));
}

void Vp8ActiveMapTracker::Encoded(bool updated_last, int q) {
  if (!updated_last || !have_copy_ || q < 0 || q > kFineQuantizer) return;
  for (unsigned char& p : pending_)
    if (p > 0) --p;
}

}  // namespace tether
