#include "webrtc/vp8_encoder_hooks.h"

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tether/clock.h"
#include "tether/vp8_active_map.h"

namespace tether {

namespace {

// What is hooked: webrtc::(anonymous namespace)::LibvpxFacade, a local class, so its vtable and
// member functions are local symbols that only .symtab names.
constexpr const char kFacadeVtable[] = "_ZTVN6webrtc12_GLOBAL__N_112LibvpxFacadeE";
constexpr const char kFacadeEncInit[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade14codec_enc_initEP13vpx_codec_ctxPK15vpx_codec_iface"
    "PK17vpx_codec_enc_cfgl";
constexpr const char kFacadeEncode[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade12codec_encodeEP13vpx_codec_ctxPK9vpx_imagelmlm";
constexpr const char kFacadeGetCxData[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade17codec_get_cx_dataEP13vpx_codec_ctxPPKv";
constexpr const char kFacadeDestroy[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade13codec_destroyEP13vpx_codec_ctx";
// The module's own libvpx front end, for its encoders.
constexpr const char kCodecControl[] = "vpx_codec_control_";
constexpr const char kEncConfigSet[] = "vpx_codec_enc_config_set";
constexpr const char kCodecVersion[] = "vpx_codec_version";

// The profile hook copies libvpx's encoder configuration, and Tether's encoder is driven through
// the module's front end: both need the module's libvpx to have the layout of the headers built
// against, libvpx 1.12 (the one inside @roamhq/wrtc 0.10, and Tether's own).
static_assert(VPX_ENCODER_ABI_VERSION == 25, "built against libvpx headers other than 1.12");
constexpr int kVpxMajor = 1, kVpxMinor = 12;
constexpr const char kVp8EncoderName[] = "WebM Project VP8 Encoder";

// The facade's member functions as called through the vtable: `this` first.
using EncodeFn = vpx_codec_err_t (*)(const void*, vpx_codec_ctx_t*, const vpx_image_t*,
                                     vpx_codec_pts_t, unsigned long, vpx_enc_frame_flags_t,
                                     unsigned long);
using GetCxDataFn = const vpx_codec_cx_pkt_t* (*)(const void*, vpx_codec_ctx_t*, vpx_codec_iter_t*);
using DestroyFn = vpx_codec_err_t (*)(const void*, vpx_codec_ctx_t*);
using EncInitFn = vpx_codec_err_t (*)(const void*, vpx_codec_ctx_t*, vpx_codec_iface_t*,
                                      const vpx_codec_enc_cfg_t*, vpx_codec_flags_t);
using ControlFn = vpx_codec_err_t (*)(vpx_codec_ctx_t*, int, ...);
using ConfigSetFn = vpx_codec_err_t (*)(vpx_codec_ctx_t*, const vpx_codec_enc_cfg_t*);

struct EncoderState {
  Vp8ActiveMapTracker tracker;
  uint64_t key_requests_seen = 0;  // Vp8Hooks::key_requests when this encoder last took one
  bool awaiting_frame = false;     // encoded, its frame packet not seen yet
  bool updates_last = false;
};

// Everything the hooks share: the originals, the settings, per-encoder state and the counters.
struct Vp8Hooks {
  // The module's functions, set before the first slot is written.
  std::atomic<EncodeFn> encode{nullptr};
  std::atomic<GetCxDataFn> get_cx_data{nullptr};
  std::atomic<DestroyFn> destroy{nullptr};
  std::atomic<EncInitFn> enc_init{nullptr};
  std::atomic<ControlFn> control{nullptr};
  std::atomic<ConfigSetFn> config_set{nullptr};
  std::atomic<bool> installed{false};  // only after every slot was written

  // The settings the hooks read.
  std::atomic<bool> active_map{false};
  std::atomic<int> profile{-1};  // -1: libwebrtc's
  std::atomic<bool> own{false};  // new encoders get Tether's libvpx

  std::mutex states_mutex;
  std::unordered_map<vpx_codec_ctx_t*, std::unique_ptr<EncoderState>> states;

  std::atomic<uint64_t> frames{0}, mapped{0}, active_mbs{0}, total_mbs{0}, errors{0};
  std::atomic<uint64_t> compare_ns{0}, encode_ns{0}, pending_mbs{0}, profile_sets{0};
  std::atomic<uint64_t> own_encoders{0};
  std::atomic<int> last_q{-1}, last_version{-1};
  // Key frames asked for (RequestVp8KeyFrame), and those the encoders made for it.
  std::atomic<uint64_t> key_requests{0}, forced_keys{0};
};

// Never destroyed: libwebrtc's encoder threads may still call a hook while the process exits.
Vp8Hooks& hooks = *new Vp8Hooks();

bool IsVp8Encoder(const vpx_codec_ctx_t* ctx) {
  return ctx != nullptr && ctx->name != nullptr &&
         std::strncmp(ctx->name, kVp8EncoderName, sizeof(kVp8EncoderName) - 1) == 0;
}

// An encoder on Tether's libvpx (linked into this addon, its symbols local: see exports.map). The
// hooks call this libvpx for it; libwebrtc's other calls (codec_control, codec_enc_config_set) go
// through the module's front end, which only dispatches through ctx->iface.
bool IsOwn(const vpx_codec_ctx_t* ctx) {
  return ctx != nullptr && ctx->iface == vpx_codec_vp8_cx();
}

vpx_codec_err_t Control(vpx_codec_ctx_t* ctx, int id, void* arg) {
  return IsOwn(ctx) ? vpx_codec_control_(ctx, id, arg) : hooks.control.load()(ctx, id, arg);
}

// Gives the encoder the wanted bitstream profile (libvpx: the VP8 "version" of each frame header).
// libwebrtc sets its whole configuration again on every rate change (profile 0), so this checks
// the encoder's own copy (ctx->config.enc points to it after init) before every frame. Runs on
// the encoder's thread, the one libwebrtc configures it from.
void ApplyProfile(vpx_codec_ctx_t* ctx) {
  const int profile = hooks.profile.load(std::memory_order_relaxed);
  if (profile < 0 || ctx->config.enc == nullptr ||
      ctx->config.enc->g_profile == static_cast<unsigned>(profile))
    return;
  vpx_codec_enc_cfg_t cfg = *ctx->config.enc;
  cfg.g_profile = static_cast<unsigned>(profile);
  const vpx_codec_err_t r =
      IsOwn(ctx) ? vpx_codec_enc_config_set(ctx, &cfg) : hooks.config_set.load()(ctx, &cfg);
  if (r == VPX_CODEC_OK)
    ++hooks.profile_sets;
  else
    ++hooks.errors;
}

vpx_codec_err_t Encode(const void* self, vpx_codec_ctx_t* ctx, const vpx_image_t* img,
                       vpx_codec_pts_t pts, unsigned long duration, vpx_enc_frame_flags_t flags,
                       unsigned long deadline) {
  return IsOwn(ctx) ? vpx_codec_encode(ctx, img, pts, duration, flags, deadline)
                    : hooks.encode.load()(self, ctx, img, pts, duration, flags, deadline);
}

// Whether this encoder's next frame must be a key frame because one was asked for since its last
// (an encoder seen for the first time takes none: its first frame is one anyway).
bool TakeKeyRequest(vpx_codec_ctx_t* ctx) {
  const uint64_t wanted = hooks.key_requests.load(std::memory_order_acquire);
  std::lock_guard<std::mutex> lock(hooks.states_mutex);
  auto& slot = hooks.states[ctx];
  if (!slot) {
    slot = std::make_unique<EncoderState>();
    slot->key_requests_seen = wanted;
    return false;
  }
  if (slot->key_requests_seen == wanted) return false;
  slot->key_requests_seen = wanted;
  ++hooks.forced_keys;
  return true;
}

// Before each VP8 frame: a key frame if one was asked for, the profile, then the active map
// (compare with the last frame, set VP8E_SET_ACTIVEMAP; a map of nullptr with the right size turns
// it off), then the original. libwebrtc reads a frame's type from its packet (VPX_FRAME_IS_KEY),
// so a key frame forced here is sent and counted as one.
vpx_codec_err_t HookedEncode(const void* self, vpx_codec_ctx_t* ctx, const vpx_image_t* img,
                             vpx_codec_pts_t pts, unsigned long duration,
                             vpx_enc_frame_flags_t flags, unsigned long deadline) {
  if (img == nullptr || !IsVp8Encoder(ctx))
    return Encode(self, ctx, img, pts, duration, flags, deadline);
  if (TakeKeyRequest(ctx)) flags |= VPX_EFLAG_FORCE_KF;
  ApplyProfile(ctx);
  if (!hooks.active_map.load(std::memory_order_relaxed))
    return Encode(self, ctx, img, pts, duration, flags, deadline);
  const int64_t t0 = MonotonicNs();
  {
    std::lock_guard<std::mutex> lock(hooks.states_mutex);
    auto& slot = hooks.states[ctx];
    if (!slot) slot = std::make_unique<EncoderState>();
    EncoderState& st = *slot;
    const bool key = (flags & VPX_EFLAG_FORCE_KF) != 0;
    // Only without the loop filter (profiles 2 and 3): it also changes the pixels next to every
    // macroblock edge of a skipped macroblock, frame after frame, and an inactive macroblock never
    // gets the residual that would correct that (at a tolerance of 8 levels the pixel test failed 2
    // runs in 12 with profile 0, none in 20 with profile 2). With the filter, the frame is encoded
    // whole, as libwebrtc would (no compare; the tracker starts over when the filter is off again).
    const bool unfiltered = ctx->config.enc != nullptr && ctx->config.enc->g_profile >= 2;
    if (!unfiltered) st.tracker.Reset();
    const bool use =
        unfiltered && st.tracker.Prepare(*img, (flags & VP8_EFLAG_NO_REF_LAST) == 0, key) ==
                          Vp8ActiveMapTracker::Decision::kUseMap;
    vpx_active_map_t map{};
    // The encoder's macroblock grid is the image's (libwebrtc never has libvpx scale VP8 input).
    map.rows = (img->d_h + 15) / 16;
    map.cols = (img->d_w + 15) / 16;
    map.active_map = use ? st.tracker.map() : nullptr;
    const vpx_codec_err_t err = Control(ctx, VP8E_SET_ACTIVEMAP, &map);
    if (err != VPX_CODEC_OK) {
      ++hooks.errors;
      if (map.active_map != nullptr) {  // never leave an older map in force
        map.active_map = nullptr;
        Control(ctx, VP8E_SET_ACTIVEMAP, &map);
      }
    } else if (map.active_map != nullptr) {
      ++hooks.mapped;
      hooks.active_mbs += st.tracker.active();
    }
    ++hooks.frames;
    hooks.total_mbs += static_cast<uint64_t>(map.rows) * map.cols;
    st.awaiting_frame = true;
    st.updates_last = key || (flags & VP8_EFLAG_NO_UPD_LAST) == 0;
  }
  const int64_t t1 = MonotonicNs();
  hooks.compare_ns += static_cast<uint64_t>(t1 - t0);
  const vpx_codec_err_t r = Encode(self, ctx, img, pts, duration, flags, deadline);
  hooks.encode_ns += static_cast<uint64_t>(MonotonicNs() - t1);
  return r;
}

// After each frame packet: the frame header's version bits, and the quantizer the frame was
// encoded at, which releases the macroblocks it carried at a fine one.
const vpx_codec_cx_pkt_t* HookedGetCxData(const void* self, vpx_codec_ctx_t* ctx,
                                          vpx_codec_iter_t* iter) {
  const vpx_codec_cx_pkt_t* pkt =
      IsOwn(ctx) ? vpx_codec_get_cx_data(ctx, iter) : hooks.get_cx_data.load()(self, ctx, iter);
  if (pkt != nullptr && pkt->kind == VPX_CODEC_CX_FRAME_PKT && IsVp8Encoder(ctx) &&
      pkt->data.frame.sz > 0) {
    // RFC 6386 9.1: bits 1-3 of a frame's first byte are its version (= the profile). libwebrtc
    // asks for each partition in its own packet; the header is in the first (partition 0).
    if (pkt->data.frame.partition_id <= 0)
      hooks.last_version = (static_cast<const uint8_t*>(pkt->data.frame.buf)[0] >> 1) & 7;
    std::lock_guard<std::mutex> lock(hooks.states_mutex);
    auto it = hooks.states.find(ctx);
    if (it != hooks.states.end() && it->second->awaiting_frame) {
      it->second->awaiting_frame = false;
      int q = -1;
      if (Control(ctx, VP8E_GET_LAST_QUANTIZER, &q) != VPX_CODEC_OK) q = -1;
      hooks.last_q = q;
      it->second->tracker.Encoded(it->second->updates_last, q);
      hooks.pending_mbs = it->second->tracker.pending();
    }
  }
  return pkt;
}

// libwebrtc creates each VP8 encoder with the module's vpx_codec_vp8_cx(); with own set it gets
// this addon's. The interface's name is its first member (vpx_codec_iface_name()).
vpx_codec_err_t HookedEncInit(const void* self, vpx_codec_ctx_t* ctx, vpx_codec_iface_t* iface,
                              const vpx_codec_enc_cfg_t* cfg, vpx_codec_flags_t flags) {
  if (hooks.own.load() && iface != nullptr && iface != vpx_codec_vp8_cx() &&
      std::strncmp(*reinterpret_cast<const char* const*>(iface), kVp8EncoderName,
                   sizeof(kVp8EncoderName) - 1) == 0) {
    const vpx_codec_err_t r =
        vpx_codec_enc_init_ver(ctx, vpx_codec_vp8_cx(), cfg, flags, VPX_ENCODER_ABI_VERSION);
    if (r == VPX_CODEC_OK) ++hooks.own_encoders;
    return r;
  }
  return hooks.enc_init.load()(self, ctx, iface, cfg, flags);
}

vpx_codec_err_t HookedDestroy(const void* self, vpx_codec_ctx_t* ctx) {
  {
    std::lock_guard<std::mutex> lock(hooks.states_mutex);
    // A new encoder at the same address starts over.
    if (hooks.states.erase(ctx) > 0) hooks.pending_mbs = 0;
  }
  return IsOwn(ctx) ? vpx_codec_destroy(ctx) : hooks.destroy.load()(self, ctx);
}

// Puts the hooks in place once per process; later calls only report success (without opening
// the module). A failed write is reported again by the next call.
WebRtcOutcome InstallHooks(ModuleOpener& module) {
  if (hooks.installed.load()) return {};
  using Kind = SymbolQuery::Kind;
  std::vector<ResolvedSymbol> s;
  WebRtcOutcome r = module.Resolve({{kFacadeVtable, Kind::kObject, 8 * sizeof(void*)},
                                    {kFacadeDestroy, Kind::kFunction},
                                    {kFacadeGetCxData, Kind::kFunction},
                                    {kFacadeEncode, Kind::kFunction},
                                    {kFacadeEncInit, Kind::kFunction},
                                    {kCodecControl, Kind::kFunction},
                                    {kEncConfigSet, Kind::kFunction}},
                                   &s);
  if (!r.ok()) return r;
  // Each function in exactly one slot (simulcast's codec_enc_init_multi is left alone: those
  // encoders keep the module's libvpx). In the order written: destroy and frame-packet hooks
  // first, so that an encode seen by the hook always gets both.
  struct Patch {
    const ResolvedSymbol& original;
    const char* what;
    void* hook;
    void** slot;
  } patches[] = {
      {s[1], "LibvpxFacade::codec_destroy", reinterpret_cast<void*>(&HookedDestroy), nullptr},
      {s[2], "LibvpxFacade::codec_get_cx_data", reinterpret_cast<void*>(&HookedGetCxData), nullptr},
      {s[3], "LibvpxFacade::codec_encode", reinterpret_cast<void*>(&HookedEncode), nullptr},
      {s[4], "LibvpxFacade::codec_enc_init", reinterpret_cast<void*>(&HookedEncInit), nullptr},
  };
  for (Patch& p : patches) {
    r = module.FindSlot(s[0], p.original, /*optional=*/false, p.what, &p.slot);
    if (!r.ok()) return r;
  }
  hooks.destroy = reinterpret_cast<DestroyFn>(s[1].address);
  hooks.get_cx_data = reinterpret_cast<GetCxDataFn>(s[2].address);
  hooks.encode = reinterpret_cast<EncodeFn>(s[3].address);
  hooks.enc_init = reinterpret_cast<EncInitFn>(s[4].address);
  hooks.control = reinterpret_cast<ControlFn>(s[5].address);
  hooks.config_set = reinterpret_cast<ConfigSetFn>(s[6].address);
  for (const Patch& p : patches) {
    r = module.WriteSlot(p.slot, p.hook);
    if (!r.ok()) return r;
  }
  hooks.installed = true;
  return r;
}

// kOk if the module's libvpx is 1.12 (what the hooks know the layout of); `needs` says why.
WebRtcOutcome CheckModuleLibvpx(ModuleOpener& module, const char* needs) {
  std::vector<ResolvedSymbol> s;
  WebRtcOutcome r = module.Resolve({{kCodecVersion, SymbolQuery::Kind::kFunction}}, &s);
  if (!r.ok()) return r;
  const int v = reinterpret_cast<int (*)()>(s[0].address)();
  if ((v >> 16) == kVpxMajor && ((v >> 8) & 0xff) == kVpxMinor) return r;
  return WebRtcOutcome::Fail(WebRtcResult::kModuleMismatch,
                             "the module has libvpx " + std::to_string(v >> 16) + "." +
                                 std::to_string((v >> 8) & 0xff) + "; " + needs);
}

}  // namespace

WebRtcOutcome SetVp8ActiveMap(ModuleOpener& module, bool on) {
  WebRtcOutcome r = InstallHooks(module);
  if (r.ok()) hooks.active_map = on;
  return r;
}

WebRtcOutcome SetVp8Profile(ModuleOpener& module, int profile) {
  WebRtcOutcome r =
      CheckModuleLibvpx(module, "the profile hook knows the encoder settings of 1.12");
  if (r.ok()) r = InstallHooks(module);
  if (r.ok()) hooks.profile = profile;
  return r;
}

WebRtcOutcome SetVp8Encoder(ModuleOpener& module, Vp8Encoder encoder) {
  WebRtcOutcome r = CheckModuleLibvpx(
      module, "its front end must match Tether's libvpx 1.12 to drive Tether's encoder");
  if (r.ok()) r = InstallHooks(module);
  if (r.ok()) hooks.own = encoder == Vp8Encoder::kTether;
  return r;
}

bool RequestVp8KeyFrame() {
  if (!hooks.installed.load()) return false;
  hooks.key_requests.fetch_add(1, std::memory_order_release);
  return true;
}

Vp8EncoderStats GetVp8EncoderStats() {
  Vp8EncoderStats s;
  s.hooked = hooks.installed.load();
  s.active_map = hooks.active_map.load();
  s.frames = hooks.frames.load();
  s.mapped_frames = hooks.mapped.load();
  s.active_mbs = hooks.active_mbs.load();
  s.total_mbs = hooks.total_mbs.load();
  s.errors = hooks.errors.load();
  s.compare_ns = hooks.compare_ns.load();
  s.encode_ns = hooks.encode_ns.load();
  s.last_q = hooks.last_q.load();
  s.pending_mbs = hooks.pending_mbs.load();
  s.profile = hooks.profile.load();
  s.profile_sets = hooks.profile_sets.load();
  s.last_version = hooks.last_version.load();
  s.encoder = hooks.own.load() ? Vp8Encoder::kTether : Vp8Encoder::kLibwebrtc;
  s.tether_encoders = hooks.own_encoders.load();
  s.key_requests = hooks.key_requests.load();
  s.forced_key_frames = hooks.forced_keys.load();
  return s;
}

}  // namespace tether
