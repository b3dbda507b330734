// Encoder/decoder agreement of Tether's libvpx (scripts/build-libvpx.mjs, native/libvpx/*.patch):
// a VP8 encoder with active maps and a VP8 decoder from the same build are fed one stream of
// synthetic screen frames, and after every frame the encoder's LAST reference must equal the
// decoder's bit for bit (VP8_COPY_REFERENCE on both). The patch codes inactive macroblocks as
// copies of LAST and skips copies it believes the reused buffer already holds; any wrong belief
// leaves the encoder predicting from pixels the decoder does not have, which shows up here at once.
// The stream mixes what libwebrtc can ask for: frames that do not update LAST, golden and alt-ref
// refreshes, forced key frames, frames without a map, maps that leave changed macroblocks out;
// and LAST replaced from outside (VP8_SET_REFERENCE) on both sides.
//
// Usage: tether_vp8_consistency [frames] [threads]   (defaults 400, 1)
// Prints "ok <frames> frames, <compared> references compared, <skipped> frames with a map" and
// exits 0, or one line starting with "FAIL" and exits 1.
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// 20 x 14.5 macroblocks: the last row is cut (as 1080 is), which the partial source copy must clip.
constexpr int kW = 320, kH = 232;
constexpr int kCols = (kW + 15) / 16, kRows = (kH + 15) / 16;

uint32_t g_seed = 12345;
uint32_t Rnd(uint32_t n) {
  g_seed = g_seed * 1103515245u + 12345u;
  return (g_seed >> 8) % n;
}

int Fail(const char* what, int frame) {
  std::printf("FAIL frame %d: %s\n", frame, what);
  return 1;
}

bool SameRef(vpx_codec_ctx_t* enc, vpx_codec_ctx_t* dec, vpx_image_t* a, vpx_image_t* b) {
  vpx_ref_frame_t ra{};
  ra.frame_type = VP8_LAST_FRAME;
  ra.img = *a;
  vpx_ref_frame_t rb{};
  rb.frame_type = VP8_LAST_FRAME;
  rb.img = *b;
  if (vpx_codec_control(enc, VP8_COPY_REFERENCE, &ra) != VPX_CODEC_OK) return false;
  if (vpx_codec_control(dec, VP8_COPY_REFERENCE, &rb) != VPX_CODEC_OK) return false;
  for (int p = 0; p < 3; ++p) {
    const int w = p ? kW / 2 : kW, h = p ? kH / 2 : kH;
    for (int y = 0; y < h; ++y) {
      if (std::memcmp(ra.img.planes[p] + y * ra.img.stride[p],
                      rb.img.planes[p] + y * rb.img.stride[p], static_cast<size_t>(w)) != 0)
        return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::atoi(argv[1]) : 400;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  if (frames <= 0 || threads <= 0) {
    std::printf("FAIL usage: tether_vp8_consistency [frames > 0] [threads > 0]\n");
    return 1;
  }

  vpx_codec_enc_cfg_t cfg{};
  if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
    return Fail("config", 0);
  cfg.g_w = kW;
  cfg.g_h = kH;
  cfg.g_threads = static_cast<unsigned>(threads);
  cfg.g_profile = 2;  // no loop filter, as the agent encodes
  cfg.g_lag_in_frames = 0;
  cfg.g_error_resilient = 0;
  cfg.rc_end_usage = VPX_CBR;
  cfg.rc_target_bitrate = 2000;
  cfg.rc_min_quantizer = 2;
  cfg.rc_max_quantizer = 56;
  cfg.rc_dropframe_thresh = 0;
  cfg.kf_mode = VPX_KF_DISABLED;
  vpx_codec_ctx_t enc{};
  if (vpx_codec_enc_init(&enc, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
    return Fail("encoder init", 0);
  vpx_codec_control(&enc, VP8E_SET_CPUUSED, -12);
  vpx_codec_control(&enc, VP8E_SET_SCREEN_CONTENT_MODE, 2);
  vpx_codec_control(&enc, VP8E_SET_STATIC_THRESHOLD, 1);
  vpx_codec_dec_cfg_t dcfg{};
  dcfg.threads = 1;
  vpx_codec_ctx_t dec{};
  if (vpx_codec_dec_init(&dec, vpx_codec_vp8_dx(), &dcfg, 0) != VPX_CODEC_OK)
    return Fail("decoder init", 0);

  vpx_image_t* src = vpx_img_alloc(nullptr, VPX_IMG_FMT_I420, kW, kH, 16);
  // VP8_COPY_REFERENCE copies libvpx's whole internal frame, whose size is rounded up to 16.
  vpx_image_t* ra = vpx_img_alloc(nullptr, VPX_IMG_FMT_I420, kCols * 16, kRows * 16, 16);
  vpx_image_t* rb = vpx_img_alloc(nullptr, VPX_IMG_FMT_I420, kCols * 16, kRows * 16, 16);
  // A desktop-like start: flat background, a few windows.
  for (int p = 0; p < 3; ++p) {
    const int w = p ? kW / 2 : kW, h = p ? kH / 2 : kH;
    for (int y = 0; y < h; ++y)
      std::memset(src->planes[p] + y * src->stride[p], p ? 128 : 200, static_cast<size_t>(w));
  }

  std::vector<unsigned char> map(kCols * kRows);
  int compared = 0, mapped = 0;
  for (int f = 0; f < frames; ++f) {
    std::vector<bool> changed(kCols * kRows, false);
    // Some frames change nothing (repeats); others paint 1-4 blocks, text-cell to window sized.
    const int blocks = f % 9 == 4 ? 0 : 1 + static_cast<int>(Rnd(4));
    for (int b = 0; b < blocks; ++b) {
      const int w = 2 + 2 * static_cast<int>(Rnd(f % 5 == 0 ? 60 : 10));
      const int h = 2 + 2 * static_cast<int>(Rnd(f % 5 == 0 ? 50 : 10));
      const int x0 = 2 * static_cast<int>(Rnd((kW - w) / 2)),
                y0 = 2 * static_cast<int>(Rnd((kH - h) / 2));
      const int c[3] = {16 + static_cast<int>(Rnd(220)), 16 + static_cast<int>(Rnd(224)),
                        16 + static_cast<int>(Rnd(224))};
      for (int y = y0; y < y0 + h; ++y) {
        std::memset(src->planes[0] + y * src->stride[0] + x0, c[0], static_cast<size_t>(w));
        if (y % 2 == 0) {
          std::memset(src->planes[1] + (y / 2) * src->stride[1] + x0 / 2, c[1],
                      static_cast<size_t>(w / 2));
          std::memset(src->planes[2] + (y / 2) * src->stride[2] + x0 / 2, c[2],
                      static_cast<size_t>(w / 2));
        }
      }
      for (int r = y0 / 16; r <= (y0 + h - 1) / 16; ++r)
        for (int col = x0 / 16; col <= (x0 + w - 1) / 16; ++col) changed[r * kCols + col] = true;
    }
    // The map: the changed macroblocks plus random others; now and then one changed macroblock is
    // left out (it stays a copy of LAST), and every 10th frame has no map at all.
    bool use_map = f % 10 != 7;
    for (int i = 0; i < kCols * kRows; ++i) map[i] = changed[i] || Rnd(50) == 0 ? 1 : 0;
    if (f % 6 == 3) map[Rnd(kCols * kRows)] = 0;
    vpx_active_map_t am{};
    am.rows = kRows;
    am.cols = kCols;
    am.active_map = use_map ? map.data() : nullptr;
    if (vpx_codec_control(&enc, VP8E_SET_ACTIVEMAP, &am) != VPX_CODEC_OK)
      return Fail("set active map", f);
    if (use_map) ++mapped;

    // Now and then the application replaces LAST on both sides (VP8_SET_REFERENCE) with a
    // picture neither has coded: every belief about which buffer holds what must be dropped.
    if (f % 97 == 50) {
      vpx_ref_frame_t r{};
      r.frame_type = VP8_LAST_FRAME;
      r.img = *ra;
      for (int p = 0; p < 3; ++p) {
        const int w = p ? kCols * 8 : kCols * 16, h = p ? kRows * 8 : kRows * 16;
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x)
            ra->planes[p][y * ra->stride[p] + x] =
                static_cast<unsigned char>((x * 7 + y * 3 + f) & 0xff);
      }
      if (vpx_codec_control(&enc, VP8_SET_REFERENCE, &r) != VPX_CODEC_OK)
        return Fail("encoder set reference", f);
      if (vpx_codec_control(&dec, VP8_SET_REFERENCE, &r) != VPX_CODEC_OK)
        return Fail("decoder set reference", f);
    }

    vpx_enc_frame_flags_t flags = 0;
    if (f > 0 && f % 37 == 0) flags |= VPX_EFLAG_FORCE_KF;
    if (f % 7 == 5) flags |= VP8_EFLAG_NO_UPD_LAST;  // e.g. a temporal-layer frame
    if (f % 11 == 8) flags |= VP8_EFLAG_FORCE_GF;
    if (f % 13 == 9) flags |= VP8_EFLAG_FORCE_ARF;
    if (f % 17 == 2) flags |= VP8_EFLAG_NO_REF_LAST;  // predicts from golden/alt-ref only
    if (vpx_codec_encode(&enc, src, f, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK)
      return Fail("encode", f);
    vpx_codec_iter_t it = nullptr;
    int packets = 0;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&enc, &it)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      ++packets;
      if (vpx_codec_decode(&dec, static_cast<const uint8_t*>(pkt->data.frame.buf),
                           static_cast<unsigned>(pkt->data.frame.sz), nullptr, 0) != VPX_CODEC_OK)
        return Fail("decode", f);
      vpx_codec_iter_t dit = nullptr;
      while (vpx_codec_get_frame(&dec, &dit) != nullptr) {
      }
    }
    if (packets == 0) continue;  // dropped by rate control: nothing changed on either side
    if (!SameRef(&enc, &dec, ra, rb))
      return Fail("the encoder's LAST reference differs from the decoder's", f);
    ++compared;
  }
  vpx_img_free(src);
  vpx_img_free(ra);
  vpx_img_free(rb);
  vpx_codec_destroy(&enc);
  vpx_codec_destroy(&dec);
  std::printf("ok %d frames, %d references compared, %d frames with a map\n", frames, compared,
              mapped);
  return 0;
}
