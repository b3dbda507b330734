// Encode only what changed: a libvpx VP8 active map for every frame, from the frame itself.
//
// libwebrtc encodes every screen frame whole: at 1080p libvpx VP8 decides a mode for all 8160
// macroblocks even when a 10x18 text cell changed (about 5 ms with two threads on a 2-core
// machine, ≈10 ms of CPU). libvpx can skip macroblocks marked inactive in an "active map" (coded
// as unchanged from the last frame, as Chrome Remote Desktop does), but libwebrtc never sets one.
//
// Vp8ActiveMapTracker holds, per encoder, a copy of the last input frame. For each new frame it
// compares the frame with the copy (exact, byte for byte) and marks the changed macroblocks. A
// macroblock stays active until frames that carried it into the reference were encoded at a fine
// quantizer: "active" only lets libvpx code a macroblock, and at a coarse quantizer it may still
// code a small change as unchanged (encode breakout, coefficients that quantize to zero); libvpx
// alone would fix that in a later frame at a finer quantizer, so the macroblock must stay active
// until then. A frame libvpx drops, or one that does not update the last reference, releases
// nothing. The result: what reaches the viewer is what libvpx would have sent without a map.
#pragma once

#include <vpx/vpx_image.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tether {

class Vp8ActiveMapTracker {
 public:
  enum class Decision {
    kUseMap,      // set map() as the active map for this frame
    kDisableMap,  // encode every macroblock (first frame, new size, key frame, other format)
  };

  // Called before a frame is encoded. `refs_last`: the frame may predict from the last frame;
  // `key`: a key frame is requested. Updates the copy and the pending macroblocks.
  Decision Prepare(const vpx_image_t& img, bool refs_last, bool key);

  // Forgets the copy: for a frame encoded whole without asking Prepare; the next one starts over.
  void Reset() { have_copy_ = false; }

  // Called when the encoder produced the frame (a frame packet came out). `updated_last`: the
  // frame became the new last reference (it did not carry VP8_EFLAG_NO_UPD_LAST); `q`: its
  // quantizer index (0–127, VP8E_GET_LAST_QUANTIZER). A frame at q <= kFineQuantizer counts
  // towards releasing its active macroblocks.
  void Encoded(bool updated_last, int q);

  // The quantizer index at or below which a frame counts as fine, and how many such frames an
  // active macroblock must be carried in after its last change. libvpx refines a changed
  // macroblock over many frames (libwebrtc's screen share stops at index 15, so later passes are
  // not finer, only more): with 8 frames at <= 20, colour edges inside a macroblock were still up
  // to 15 levels off in chroma when it was released (the pixel test failed at tolerance 8 in 10
  // runs of 10, and at 14 once in 40-100); with 24 it passed 20 of 20 at tolerance 8, as libvpx
  // without a map does (its own error after refining: up to 7).
  static constexpr int kFineQuantizer = 20;
  static constexpr unsigned char kFineFrames = 24;

  // The map for kUseMap: one byte per macroblock, row by row, 1 = encode it.
  unsigned char* map() { return map_.data(); }
  unsigned int rows() const { return rows_; }
  unsigned int cols() const { return cols_; }
  // Macroblocks marked active in the last kUseMap decision.
  size_t active() const { return active_; }
  // Macroblocks that still wait for fine frames (what a repeat of the frame would refine).
  size_t pending() const;

 private:
  bool SameFormat(const vpx_image_t& img) const;
  void CopyAll(const vpx_image_t& img);

  unsigned int width_ = 0, height_ = 0, rows_ = 0, cols_ = 0;
  std::vector<uint8_t> y_, u_, v_;      // the last input frame, tightly packed planes
  std::vector<unsigned char> pending_;  // per macroblock: fine frames still needed (0: settled)
  std::vector<unsigned char> map_;
  std::vector<unsigned char> changed_;  // scratch: the columns that changed in one macroblock row
  size_t active_ = 0;
  bool have_copy_ = false;
};

}  // namespace tether
