#include "webrtc/send_stream_hook.h"

#include <atomic>
#include <vector>

namespace tether {

namespace {

constexpr const char kSendStreamVtable[] = "_ZTVN6webrtc8internal19VideoSendStreamImplE";
constexpr const char kOnEncoderConfig[] =
    "_ZN6webrtc8internal19VideoSendStreamImpl29OnEncoderConfigurationChangedENSt2Cr6vectorINS_"
    "11VideoStreamENS2_9allocatorIS4_EEEEbNS_18VideoEncoderConfig11ContentTypeEi";
// The non-virtual thunk through which the encoder calls it as VideoStreamEncoderInterface::
// EncoderSink (`this` adjusted by 8): the entry every caller uses.
constexpr const char kOnEncoderConfigThunk[] =
    "_ZThn8_N6webrtc8internal19VideoSendStreamImpl29OnEncoderConfigurationChangedENSt2Cr6vectorINS_"
    "11VideoStreamENS2_9allocatorIS4_EEEEbNS_18VideoEncoderConfig11ContentTypeEi";

// The vector is passed by value, which the x86-64 C++ ABI does through a pointer to the caller's
// copy (the caller destroys it): forwarding that pointer hands the original the same object.
using OnEncoderConfigFn = void (*)(void* self, void* streams, bool is_svc, int content_type,
                                   int min_transmit_bitrate_bps);

struct SendStreamHook {
  std::atomic<OnEncoderConfigFn> original{nullptr}, original_thunk{nullptr};
  std::atomic<bool> installed{false};  // only after every slot was written
  std::atomic<int> bps{-1};            // -1: libwebrtc's value
  std::atomic<uint64_t> calls{0};
  std::atomic<int> libwebrtc_max_bps{-1};
};

// Never destroyed: libwebrtc's threads may still call the hook while the process exits.
SendStreamHook& hook = *new SendStreamHook();

int MinTransmit(int libwebrtc_bps) {
  ++hook.calls;
  int seen = hook.libwebrtc_max_bps.load();
  while (libwebrtc_bps > seen &&
         !hook.libwebrtc_max_bps.compare_exchange_weak(seen, libwebrtc_bps)) {
  }
  const int want = hook.bps.load();
  return want >= 0 ? want : libwebrtc_bps;
}

void HookedOnConfig(void* self, void* streams, bool is_svc, int content_type, int bps) {
  hook.original.load()(self, streams, is_svc, content_type, MinTransmit(bps));
}

void HookedOnConfigThunk(void* self, void* streams, bool is_svc, int content_type, int bps) {
  hook.original_thunk.load()(self, streams, is_svc, content_type, MinTransmit(bps));
}

WebRtcOutcome Install(ModuleOpener& module) {
  if (hook.installed.load()) return {};
  using Kind = SymbolQuery::Kind;
  std::vector<ResolvedSymbol> s;
  WebRtcOutcome r = module.Resolve({{kSendStreamVtable, Kind::kObject, 8 * sizeof(void*)},
                                    {kOnEncoderConfig, Kind::kFunction},
                                    {kOnEncoderConfigThunk, Kind::kFunction}},
                                   &s);
  if (!r.ok()) return r;
  // The thunk exactly once; the function itself at most once (the primary vtable's own entry).
  void** slot = nullptr;
  void** slot_thunk = nullptr;
  r = module.FindSlot(s[0], s[1], /*optional=*/true,
                      "VideoSendStreamImpl::OnEncoderConfigurationChanged", &slot);
  if (r.ok())
    r = module.FindSlot(s[0], s[2], /*optional=*/false,
                        "VideoSendStreamImpl::OnEncoderConfigurationChanged (EncoderSink thunk)",
                        &slot_thunk);
  if (!r.ok()) return r;
  hook.original = reinterpret_cast<OnEncoderConfigFn>(s[1].address);
  hook.original_thunk = reinterpret_cast<OnEncoderConfigFn>(s[2].address);
  if (slot != nullptr) r = module.WriteSlot(slot, reinterpret_cast<void*>(&HookedOnConfig));
  if (r.ok()) r = module.WriteSlot(slot_thunk, reinterpret_cast<void*>(&HookedOnConfigThunk));
  if (r.ok()) hook.installed = true;
  return r;
}

}  // namespace

WebRtcOutcome SetMinTransmitBitrate(ModuleOpener& module, int bps) {
  WebRtcOutcome r = Install(module);
  if (r.ok()) hook.bps = bps;
  return r;
}

SendStreamStats GetSendStreamStats() {
  SendStreamStats s;
  s.hooked = hook.installed.load();
  s.min_transmit_bps = hook.bps.load();
  s.calls = hook.calls.load();
  s.libwebrtc_max_bps = hook.libwebrtc_max_bps.load();
  return s;
}

}  // namespace tether
