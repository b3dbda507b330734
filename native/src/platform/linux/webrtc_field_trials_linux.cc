// Linux/ELF: find webrtc::field_trial functions in a loaded module's .symtab and call them; hook
// libwebrtc's libvpx calls to give VP8 an active map (see tether/vp8_active_map.h) and to choose
// its bitstream profile.
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "tether/vp8_active_map.h"
#include "tether/webrtc_field_trials.h"

namespace tether {

namespace {

constexpr const char kInitSymbol[] = "_ZN6webrtc11field_trial25InitFieldTrialsFromStringEPKc";
constexpr const char kGetSymbol[] = "_ZN6webrtc11field_trial19GetFieldTrialStringEv";
// int webrtc::CpuInfo::DetectNumberOfCores() and the function-local static it caches its answer in.
constexpr const char kCoresSymbol[] = "_ZN6webrtc7CpuInfo19DetectNumberOfCoresEv";
constexpr const char kCoresCacheSymbol[] =
    "_ZZN6webrtc7CpuInfo19DetectNumberOfCoresEvE12logical_cpus";

// A symbol to resolve: a defined function or a data object of at least `min_size` bytes.
struct Wanted {
  const char* name;
  unsigned char type;  // STT_FUNC or STT_OBJECT
  size_t min_size;
};

struct LoadedModule {
  std::string path;
  ElfW(Addr) bias = 0;
  const ElfW(Phdr) * phdr = nullptr;
  ElfW(Half) phnum = 0;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool FindModule(const std::string& suffix, LoadedModule* out) {
  struct Search {
    const std::string* suffix;
    LoadedModule* out;
    bool found;
  } search{&suffix, out, false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) -> int {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name == nullptr || !EndsWith(info->dlpi_name, *s->suffix)) return 0;
        s->out->path = info->dlpi_name;
        s->out->bias = info->dlpi_addr;
        s->out->phdr = info->dlpi_phdr;
        s->out->phnum = info->dlpi_phnum;
        s->found = true;
        return 1;
      },
      &search);
  return search.found;
}

// A read-only mapping of a whole file; unmapped and closed when it goes out of scope.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return;
    struct stat st {};
    if (fstat(fd_, &st) != 0 || st.st_size <= 0) return;
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) return;
    data_ = static_cast<const uint8_t*>(p);
    size_ = static_cast<size_t>(st.st_size);
  }
  ~MappedFile() {
    if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);  // mapped in the constructor
    if (fd_ >= 0) close(fd_);                                          // opened in the constructor
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // A pointer to `count` Ts at `offset`, or nullptr when that range is not inside the file.
  template <typename T>
  const T* At(uint64_t offset, uint64_t count = 1) const {
    if (data_ == nullptr || offset > size_ || count > (size_ - offset) / sizeof(T)) return nullptr;
    return reinterpret_cast<const T*>(data_ + offset);
  }

 private:
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Resolves the runtime addresses of `names` (defined functions or objects in .symtab). Returns kOk
// only if the file is the one loaded (same program headers) and every name was found.
FieldTrialsResult Resolve(const std::string& suffix, const std::vector<Wanted>& names,
                          std::vector<void*>* addrs, std::string* detail,
                          std::vector<size_t>* sizes = nullptr) {
  LoadedModule mod;
  if (!FindModule(suffix, &mod)) {
    *detail = "no loaded module ends with " + suffix;
    return FieldTrialsResult::kModuleNotLoaded;
  }
  MappedFile file(mod.path);
  const auto* eh = file.At<ElfW(Ehdr)>(0);
  if (eh == nullptr || std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phnum != mod.phnum ||
      eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_shentsize != sizeof(ElfW(Shdr))) {
    *detail = mod.path + " is not the ELF file that was loaded";
    return FieldTrialsResult::kModuleMismatch;
  }
  const auto* ph = file.At<ElfW(Phdr)>(eh->e_phoff, eh->e_phnum);
  if (ph == nullptr || std::memcmp(ph, mod.phdr, sizeof(ElfW(Phdr)) * mod.phnum) != 0) {
    *detail = mod.path + " changed on disk since it was loaded";
    return FieldTrialsResult::kModuleMismatch;
  }
  const auto* sh = file.At<ElfW(Shdr)>(eh->e_shoff, eh->e_shnum);
  addrs->assign(names.size(), nullptr);
  if (sizes != nullptr) sizes->assign(names.size(), 0);
  size_t found = 0;
  for (size_t i = 0; sh != nullptr && i < eh->e_shnum && found < names.size(); ++i) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(ElfW(Sym)) ||
        sh[i].sh_link >= eh->e_shnum)
      continue;
    const ElfW(Shdr)& strtab = sh[sh[i].sh_link];
    const auto* syms = file.At<ElfW(Sym)>(sh[i].sh_offset, sh[i].sh_size / sizeof(ElfW(Sym)));
    const auto* strs = file.At<char>(strtab.sh_offset, strtab.sh_size);
    if (syms == nullptr || strs == nullptr) continue;
    for (size_t k = 0; k < sh[i].sh_size / sizeof(ElfW(Sym)); ++k) {
      const ElfW(Sym)& sym = syms[k];
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0 || sym.st_name >= strtab.sh_size)
        continue;
      const char* name = strs + sym.st_name;
      const size_t max = strtab.sh_size - sym.st_name;
      for (size_t n = 0; n < names.size(); ++n) {
        if ((*addrs)[n] == nullptr && ELF64_ST_TYPE(sym.st_info) == names[n].type &&
            sym.st_size >= names[n].min_size && strnlen(name, max) < max &&
            std::strcmp(name, names[n].name) == 0) {
          (*addrs)[n] = reinterpret_cast<void*>(mod.bias + sym.st_value);
          if (sizes != nullptr) (*sizes)[n] = sym.st_size;
          ++found;
        }
      }
    }
  }
  if (found < names.size()) {
    *detail = mod.path + " has no symbol table entry for";
    for (size_t n = 0; n < names.size(); ++n)
      if ((*addrs)[n] == nullptr) *detail += std::string(" ") + names[n].name;
    return FieldTrialsResult::kSymbolNotFound;
  }
  return FieldTrialsResult::kOk;
}

std::mutex g_mutex;

// ---- VP8 active map: hooks in the vtable of libwebrtc's LibvpxFacade (its only path to libvpx).

constexpr const char kFacadeVtable[] = "_ZTVN6webrtc12_GLOBAL__N_112LibvpxFacadeE";
constexpr const char kFacadeEncode[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade12codec_encodeEP13vpx_codec_ctxPK9vpx_imagelmlm";
constexpr const char kFacadeGetCxData[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade17codec_get_cx_dataEP13vpx_codec_ctxPPKv";
constexpr const char kFacadeEncInit[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade14codec_enc_initEP13vpx_codec_ctxPK15vpx_codec_ifacePK17vpx_codec_enc_cfgl";
constexpr const char kFacadeDestroy[] =
    "_ZNK6webrtc12_GLOBAL__N_112LibvpxFacade13codec_destroyEP13vpx_codec_ctx";
constexpr const char kCodecControl[] = "vpx_codec_control_";
constexpr const char kEncConfigSet[] = "vpx_codec_enc_config_set";
constexpr const char kCodecVersion[] = "vpx_codec_version";
// SetVp8Profile copies libvpx's encoder configuration, so the module's libvpx must have the layout
// of the headers built against: libvpx 1.12 (the one inside @roamhq/wrtc 0.10 and Debian 12's).
static_assert(VPX_ENCODER_ABI_VERSION == 25, "built against libvpx headers other than 1.12");
constexpr int kVpxMajor = 1, kVpxMinor = 12;
constexpr const char kVp8EncoderName[] = "WebM Project VP8 Encoder";

// The facade's member functions as called through the vtable: `this` first.
using EncodeFn = vpx_codec_err_t (*)(const void*, vpx_codec_ctx_t*, const vpx_image_t*,
                                     vpx_codec_pts_t, unsigned long, vpx_enc_frame_flags_t,
                                     unsigned long);
using GetCxDataFn = const vpx_codec_cx_pkt_t* (*)(const void*, vpx_codec_ctx_t*,
                                                  vpx_codec_iter_t*);
using DestroyFn = vpx_codec_err_t (*)(const void*, vpx_codec_ctx_t*);
using EncInitFn = vpx_codec_err_t (*)(const void*, vpx_codec_ctx_t*, vpx_codec_iface_t*,
                                      const vpx_codec_enc_cfg_t*, vpx_codec_flags_t);
using ControlFn = vpx_codec_err_t (*)(vpx_codec_ctx_t*, int, ...);
using ConfigSetFn = vpx_codec_err_t (*)(vpx_codec_ctx_t*, const vpx_codec_enc_cfg_t*);

std::atomic<EncodeFn> g_encode{nullptr};
std::atomic<GetCxDataFn> g_get_cx_data{nullptr};
std::atomic<DestroyFn> g_destroy{nullptr};
std::atomic<EncInitFn> g_enc_init{nullptr};
std::atomic<bool> g_hooks_installed{false};
std::atomic<ControlFn> g_control{nullptr};
std::atomic<ConfigSetFn> g_config_set{nullptr};
std::atomic<bool> g_map_enabled{false};
std::atomic<int> g_profile{-1};  // the bitstream profile every VP8 encoder gets; -1: libwebrtc's

struct EncoderState {
  Vp8ActiveMapTracker tracker;
  bool awaiting_frame = false;  // encoded, its frame packet not seen yet
  bool updates_last = false;
};

std::mutex g_states_mutex;
std::unordered_map<vpx_codec_ctx_t*, std::unique_ptr<EncoderState>>* g_states = nullptr;

std::atomic<uint64_t> g_frames{0}, g_mapped{0}, g_active_mbs{0}, g_total_mbs{0}, g_errors{0};
std::atomic<uint64_t> g_compare_ns{0}, g_encode_ns{0};
std::atomic<int> g_last_q{-1};
std::atomic<uint64_t> g_pending_mbs{0};
std::atomic<uint64_t> g_profile_sets{0};
std::atomic<int> g_last_version{-1};

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

bool IsVp8Encoder(const vpx_codec_ctx_t* ctx) {
  return ctx != nullptr && ctx->name != nullptr &&
         std::strncmp(ctx->name, kVp8EncoderName, sizeof(kVp8EncoderName) - 1) == 0;
}

// ---- Tether's VP8 encoder: libvpx 1.12 built by scripts/build-libvpx.mjs with Tether's patches
// (native/libvpx/), linked into this addon (its symbols stay local: see exports.map). With
// SetVp8Encoder(own), codec_enc_init gives libwebrtc's VP8 encoders this libvpx's interface
// instead of the module's; the hooks then call this libvpx for them. libwebrtc's other calls
// (codec_control, codec_enc_config_set) go through the module's libvpx front end, which only
// dispatches through the encoder's interface table: that is why both must be libvpx 1.12.

std::atomic<bool> g_own{false};
std::atomic<uint64_t> g_own_encoders{0};

bool IsOwn(const vpx_codec_ctx_t* ctx) { return ctx != nullptr && ctx->iface == vpx_codec_vp8_cx(); }

vpx_codec_err_t Control(vpx_codec_ctx_t* ctx, int id, void* arg) {
  return IsOwn(ctx) ? vpx_codec_control_(ctx, id, arg) : g_control.load()(ctx, id, arg);
}

// Gives the encoder the wanted bitstream profile (libvpx: the VP8 "version" of each frame header).
// libwebrtc sets its whole configuration again on every rate change (profile 0), so this checks
// the encoder's own copy (ctx->config.enc points to it after init) before every frame. Runs on
// the encoder's thread, the one libwebrtc configures it from.
void ApplyProfile(vpx_codec_ctx_t* ctx) {
  const int profile = g_profile.load(std::memory_order_relaxed);
  if (profile < 0 || ctx->config.enc == nullptr ||
      ctx->config.enc->g_profile == static_cast<unsigned>(profile))
    return;
  vpx_codec_enc_cfg_t cfg = *ctx->config.enc;
  cfg.g_profile = static_cast<unsigned>(profile);
  if ((IsOwn(ctx) ? vpx_codec_enc_config_set(ctx, &cfg) : g_config_set.load()(ctx, &cfg)) == VPX_CODEC_OK)
    ++g_profile_sets;
  else
    ++g_errors;
}

vpx_codec_err_t Encode(const void* self, vpx_codec_ctx_t* ctx, const vpx_image_t* img,
                       vpx_codec_pts_t pts, unsigned long duration, vpx_enc_frame_flags_t flags,
                       unsigned long deadline) {
  return IsOwn(ctx) ? vpx_codec_encode(ctx, img, pts, duration, flags, deadline)
                    : g_encode.load()(self, ctx, img, pts, duration, flags, deadline);
}

vpx_codec_err_t HookedEncode(const void* self, vpx_codec_ctx_t* ctx, const vpx_image_t* img,
                             vpx_codec_pts_t pts, unsigned long duration,
                             vpx_enc_frame_flags_t flags, unsigned long deadline) {
  if (img == nullptr || !IsVp8Encoder(ctx))
    return Encode(self, ctx, img, pts, duration, flags, deadline);
  ApplyProfile(ctx);
  if (!g_map_enabled.load(std::memory_order_relaxed))
    return Encode(self, ctx, img, pts, duration, flags, deadline);
  const uint64_t t0 = NowNs();
  {
    std::lock_guard<std::mutex> lock(g_states_mutex);
    auto& slot = (*g_states)[ctx];
    if (!slot) slot = std::make_unique<EncoderState>();
    EncoderState& st = *slot;
    const bool key = (flags & VPX_EFLAG_FORCE_KF) != 0;
    // Only without the loop filter (profiles 2 and 3): it also changes the pixels next to every
    // macroblock edge of a skipped macroblock, frame after frame, and an inactive macroblock never
    // gets the residual that would correct that (at a tolerance of 8 levels the pixel test failed 2
    // runs in 12 with profile 0, none in 20 with profile 2). With the filter, the frame
    // is encoded whole, as libwebrtc would (no compare; the tracker starts over when the filter
    // is off again).
    const bool unfiltered = ctx->config.enc != nullptr && ctx->config.enc->g_profile >= 2;
    if (!unfiltered) st.tracker.Reset();
    const bool use = unfiltered &&
                     st.tracker.Prepare(*img, (flags & VP8_EFLAG_NO_REF_LAST) == 0, key) ==
                         Vp8ActiveMapTracker::Decision::kUseMap;
    vpx_active_map_t map{};
    // The encoder's macroblock grid is the image's (libwebrtc never has libvpx scale VP8 input).
    map.rows = (img->d_h + 15) / 16;
    map.cols = (img->d_w + 15) / 16;
    // A map of nullptr with the right size turns the map off (libvpx vp8_set_active_map).
    map.active_map = use ? st.tracker.map() : nullptr;
    const vpx_codec_err_t err = Control(ctx, VP8E_SET_ACTIVEMAP, &map);
    if (err != VPX_CODEC_OK) {
      ++g_errors;
      if (map.active_map != nullptr) {  // never leave an older map in force
        map.active_map = nullptr;
        Control(ctx, VP8E_SET_ACTIVEMAP, &map);
      }
    } else if (map.active_map != nullptr) {
      ++g_mapped;
      g_active_mbs += st.tracker.active();
    }
    ++g_frames;
    g_total_mbs += static_cast<uint64_t>(map.rows) * map.cols;
    st.awaiting_frame = true;
    st.updates_last = key || (flags & VP8_EFLAG_NO_UPD_LAST) == 0;
  }
  const uint64_t t1 = NowNs();
  g_compare_ns += t1 - t0;
  const vpx_codec_err_t r = Encode(self, ctx, img, pts, duration, flags, deadline);
  g_encode_ns += NowNs() - t1;
  return r;
}

const vpx_codec_cx_pkt_t* HookedGetCxData(const void* self, vpx_codec_ctx_t* ctx,
                                          vpx_codec_iter_t* iter) {
  const vpx_codec_cx_pkt_t* pkt =
      IsOwn(ctx) ? vpx_codec_get_cx_data(ctx, iter) : g_get_cx_data.load()(self, ctx, iter);
  if (pkt != nullptr && pkt->kind == VPX_CODEC_CX_FRAME_PKT && IsVp8Encoder(ctx) &&
      pkt->data.frame.sz > 0) {
    // RFC 6386 9.1: bits 1-3 of a frame's first byte are its version (= the profile). libwebrtc
    // asks for each partition in its own packet; the header is in the first (partition 0).
    if (pkt->data.frame.partition_id <= 0)
      g_last_version = (static_cast<const uint8_t*>(pkt->data.frame.buf)[0] >> 1) & 7;
    std::lock_guard<std::mutex> lock(g_states_mutex);
    auto it = g_states->find(ctx);
    if (it != g_states->end() && it->second->awaiting_frame) {
      it->second->awaiting_frame = false;
      int q = -1;
      if (Control(ctx, VP8E_GET_LAST_QUANTIZER, &q) != VPX_CODEC_OK) q = -1;
      g_last_q = q;
      it->second->tracker.Encoded(it->second->updates_last, q);
      g_pending_mbs = it->second->tracker.pending();
    }
  }
  return pkt;
}

// libwebrtc creates each VP8 encoder with the module's vpx_codec_vp8_cx(); with SetVp8Encoder(own)
// it gets this addon's. The interface's name is its first member (vpx_codec_iface_name()).
vpx_codec_err_t HookedEncInit(const void* self, vpx_codec_ctx_t* ctx, vpx_codec_iface_t* iface,
                              const vpx_codec_enc_cfg_t* cfg, vpx_codec_flags_t flags) {
  if (g_own.load() && iface != nullptr && iface != vpx_codec_vp8_cx() &&
      std::strncmp(*reinterpret_cast<const char* const*>(iface), kVp8EncoderName,
                   sizeof(kVp8EncoderName) - 1) == 0) {
    const vpx_codec_err_t r =
        vpx_codec_enc_init_ver(ctx, vpx_codec_vp8_cx(), cfg, flags, VPX_ENCODER_ABI_VERSION);
    if (r == VPX_CODEC_OK) ++g_own_encoders;
    return r;
  }
  return g_enc_init.load()(self, ctx, iface, cfg, flags);
}

vpx_codec_err_t HookedDestroy(const void* self, vpx_codec_ctx_t* ctx) {
  {
    std::lock_guard<std::mutex> lock(g_states_mutex);
    if (g_states->erase(ctx) > 0) g_pending_mbs = 0;  // a new encoder at the same address starts over
  }
  return IsOwn(ctx) ? vpx_codec_destroy(ctx) : g_destroy.load()(self, ctx);
}

// The protection of the page holding `addr` (PROT_* bits), from /proc/self/maps; -1 if unknown.
int PageProtection(uintptr_t addr) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen("/proc/self/maps", "re"), &std::fclose);
  if (!f) return -1;
  char line[512];
  while (std::fgets(line, sizeof(line), f.get()) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
    if (addr < lo || addr >= hi) continue;
    return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
           (perms[2] == 'x' ? PROT_EXEC : 0);
  }
  return -1;
}

// Replaces the vtable slot `slot` (holding `expected`) with `hook`, restoring the page protection.
bool WriteSlot(void** slot, void* hook, std::string* detail) {
  const auto addr = reinterpret_cast<uintptr_t>(slot);
  const int prot = PageProtection(addr);
  if (prot < 0) {
    *detail = "cannot read the page protection of the vtable";
    return false;
  }
  const long page = sysconf(_SC_PAGESIZE);
  void* start = reinterpret_cast<void*>(addr & ~static_cast<uintptr_t>(page - 1));
  if ((prot & PROT_WRITE) == 0 && mprotect(start, static_cast<size_t>(page), prot | PROT_WRITE) != 0) {
    *detail = "cannot make the vtable writable";
    return false;
  }
  __atomic_store_n(slot, hook, __ATOMIC_SEQ_CST);
  if ((prot & PROT_WRITE) == 0) mprotect(start, static_cast<size_t>(page), prot);
  return true;
}

// ---- Screen-share padding: libwebrtc pads a screen-share stream up to its "min transmit bitrate"
// (100 kbit/s from WebRtcVideoChannel for screencasts; no API of @roamhq/wrtc sets it). The value
// reaches VideoSendStreamImpl::OnEncoderConfigurationChanged(streams, is_svc, content_type,
// min_transmit_bitrate_bps), called by the encoder through its EncoderSink base (a non-virtual
// thunk in the vtable); the hook replaces the last argument.

constexpr const char kSendStreamVtable[] = "_ZTVN6webrtc8internal19VideoSendStreamImplE";
constexpr const char kOnEncoderConfig[] =
    "_ZN6webrtc8internal19VideoSendStreamImpl29OnEncoderConfigurationChangedENSt2Cr6vectorINS_"
    "11VideoStreamENS2_9allocatorIS4_EEEEbNS_18VideoEncoderConfig11ContentTypeEi";
constexpr const char kOnEncoderConfigThunk[] =
    "_ZThn8_N6webrtc8internal19VideoSendStreamImpl29OnEncoderConfigurationChangedENSt2Cr6vectorINS_"
    "11VideoStreamENS2_9allocatorIS4_EEEEbNS_18VideoEncoderConfig11ContentTypeEi";

// The vector is passed by value, which the x86-64 C++ ABI does through a pointer to the caller's
// copy (the caller destroys it): forwarding that pointer hands the original the same object.
using OnEncoderConfigFn = void (*)(void* self, void* streams, bool is_svc, int content_type,
                                   int min_transmit_bitrate_bps);

std::atomic<OnEncoderConfigFn> g_on_config{nullptr}, g_on_config_thunk{nullptr};
std::atomic<int> g_min_transmit_bps{-1};  // -1: libwebrtc's value
std::atomic<uint64_t> g_config_calls{0};
std::atomic<int> g_config_libwebrtc_max_bps{-1};

int MinTransmit(int libwebrtc_bps) {
  ++g_config_calls;
  int seen = g_config_libwebrtc_max_bps.load();
  while (libwebrtc_bps > seen && !g_config_libwebrtc_max_bps.compare_exchange_weak(seen, libwebrtc_bps)) {
  }
  const int want = g_min_transmit_bps.load();
  return want >= 0 ? want : libwebrtc_bps;
}

void HookedOnConfig(void* self, void* streams, bool is_svc, int content_type, int bps) {
  g_on_config.load()(self, streams, is_svc, content_type, MinTransmit(bps));
}

void HookedOnConfigThunk(void* self, void* streams, bool is_svc, int content_type, int bps) {
  g_on_config_thunk.load()(self, streams, is_svc, content_type, MinTransmit(bps));
}

}  // namespace

FieldTrialsResult SetWebRtcFieldTrials(const std::string& module_suffix, const std::string& trials,
                                       std::string* detail) {
  std::vector<void*> addrs;
  const FieldTrialsResult r = Resolve(module_suffix, {{kInitSymbol, STT_FUNC, 0}}, &addrs, detail);
  if (r != FieldTrialsResult::kOk) return r;
  std::lock_guard<std::mutex> lock(g_mutex);
  // libwebrtc keeps the pointer, and its threads may read an earlier one at any time: every string
  // set here lives until the process ends (a few bytes per call; called once per process).
  const auto* kept = new std::string(trials);
  reinterpret_cast<void (*)(const char*)>(addrs[0])(kept->c_str());
  return FieldTrialsResult::kOk;
}

FieldTrialsResult GetWebRtcFieldTrials(const std::string& module_suffix, std::string* trials,
                                       std::string* detail) {
  std::vector<void*> addrs;
  const FieldTrialsResult r = Resolve(module_suffix, {{kGetSymbol, STT_FUNC, 0}}, &addrs, detail);
  if (r != FieldTrialsResult::kOk) return r;
  const char* s = reinterpret_cast<const char* (*)()>(addrs[0])();
  *trials = s == nullptr ? "" : s;
  return FieldTrialsResult::kOk;
}

FieldTrialsResult SetWebRtcCoreCount(const std::string& module_suffix, int cores, int* detected,
                                     std::string* detail) {
  std::vector<void*> addrs;
  const FieldTrialsResult r = Resolve(
      module_suffix, {{kCoresSymbol, STT_FUNC, 0}, {kCoresCacheSymbol, STT_OBJECT, sizeof(int)}},
      &addrs, detail);
  if (r != FieldTrialsResult::kOk) return r;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto* detect = reinterpret_cast<int (*)()>(addrs[0]);
  // The first call fills the cache (under its own guard); later calls only read it, so once
  // filled, the value written here is what every later reader in the module sees.
  *detected = detect();
  *static_cast<volatile int*>(addrs[1]) = cores;
  if (detect() != cores) {
    *static_cast<volatile int*>(addrs[1]) = *detected;
    *detail = "webrtc::CpuInfo::DetectNumberOfCores() does not read its cache";
    return FieldTrialsResult::kSymbolNotFound;
  }
  return FieldTrialsResult::kOk;
}

namespace {

// Puts the hooks in place once per process (g_mutex held); later calls only report success.
FieldTrialsResult InstallEncoderHooks(const std::string& module_suffix, std::string* detail) {
  if (g_hooks_installed.load()) return FieldTrialsResult::kOk;
  std::vector<void*> addrs;
  std::vector<size_t> sizes;
  const FieldTrialsResult r =
      Resolve(module_suffix,
              {{kFacadeVtable, STT_OBJECT, 8 * sizeof(void*)},
               {kFacadeEncode, STT_FUNC, 0},
               {kFacadeGetCxData, STT_FUNC, 0},
               {kFacadeDestroy, STT_FUNC, 0},
               {kCodecControl, STT_FUNC, 0},
               {kEncConfigSet, STT_FUNC, 0},
               {kFacadeEncInit, STT_FUNC, 0}},
              &addrs, detail, &sizes);
  if (r != FieldTrialsResult::kOk) return r;
  // codec_enc_init (simulcast's codec_enc_init_multi is left alone: those encoders keep the
  // module's libvpx): exactly one slot, like the three below.
  void** init_slot = nullptr;
  {
    auto** t = static_cast<void**>(addrs[0]);
    int found = 0;
    for (size_t i = 0; i < sizes[0] / sizeof(void*); ++i)
      if (t[i] == addrs[6]) init_slot = &t[i], ++found;
    if (found != 1) {
      *detail = "the LibvpxFacade vtable does not hold codec_enc_init exactly once";
      return FieldTrialsResult::kSymbolNotFound;
    }
  }
  g_enc_init = reinterpret_cast<EncInitFn>(addrs[6]);
  // Find each function's slot in the vtable: exactly one each, or the layout is not the one known.
  auto** table = static_cast<void**>(addrs[0]);
  void** slots[3] = {nullptr, nullptr, nullptr};
  for (size_t i = 0; i < sizes[0] / sizeof(void*); ++i) {
    for (int f = 0; f < 3; ++f) {
      if (table[i] != addrs[1 + f]) continue;
      if (slots[f] != nullptr) {
        *detail = "the LibvpxFacade vtable holds a function twice";
        return FieldTrialsResult::kSymbolNotFound;
      }
      slots[f] = &table[i];
    }
    if (slots[0] && slots[1] && slots[2]) break;
  }
  if (!slots[0] || !slots[1] || !slots[2]) {
    *detail = "the LibvpxFacade vtable does not hold codec_encode, codec_get_cx_data and codec_destroy";
    return FieldTrialsResult::kSymbolNotFound;
  }
  g_states = new std::unordered_map<vpx_codec_ctx_t*, std::unique_ptr<EncoderState>>();  // for the process
  g_control = reinterpret_cast<ControlFn>(addrs[4]);
  g_config_set = reinterpret_cast<ConfigSetFn>(addrs[5]);
  g_encode = reinterpret_cast<EncodeFn>(addrs[1]);
  g_get_cx_data = reinterpret_cast<GetCxDataFn>(addrs[2]);
  g_destroy = reinterpret_cast<DestroyFn>(addrs[3]);
  // Destroy and frame-packet hooks first, so that an encode seen by the hook always gets both.
  if (!WriteSlot(slots[2], reinterpret_cast<void*>(&HookedDestroy), detail) ||
      !WriteSlot(slots[1], reinterpret_cast<void*>(&HookedGetCxData), detail) ||
      !WriteSlot(slots[0], reinterpret_cast<void*>(&HookedEncode), detail) ||
      !WriteSlot(init_slot, reinterpret_cast<void*>(&HookedEncInit), detail)) {
    return FieldTrialsResult::kModuleMismatch;
  }
  g_hooks_installed = true;  // only now: a failed write above is reported again on the next call
  return FieldTrialsResult::kOk;
}

}  // namespace

FieldTrialsResult EnableVp8ActiveMap(const std::string& module_suffix, std::string* detail) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const FieldTrialsResult r = InstallEncoderHooks(module_suffix, detail);
  if (r == FieldTrialsResult::kOk) g_map_enabled = true;
  return r;
}

namespace {

// kOk if the module's libvpx is 1.12 (what the hooks know the layout of).
FieldTrialsResult CheckModuleLibvpx(const std::string& module_suffix, const char* what,
                                    std::string* detail) {
  std::vector<void*> addrs;
  FieldTrialsResult r = Resolve(module_suffix, {{kCodecVersion, STT_FUNC, 0}}, &addrs, detail);
  if (r != FieldTrialsResult::kOk) return r;
  const int v = reinterpret_cast<int (*)()>(addrs[0])();
  if ((v >> 16) != kVpxMajor || ((v >> 8) & 0xff) != kVpxMinor) {
    *detail = "the module has libvpx " + std::to_string(v >> 16) + "." +
              std::to_string((v >> 8) & 0xff) + "; " + what;
    return FieldTrialsResult::kModuleMismatch;
  }
  return FieldTrialsResult::kOk;
}

// Installs the encoder hooks in a module with libvpx 1.12, then applies `set` (under g_mutex).
template <typename Set>
FieldTrialsResult WithEncoderHooks(const std::string& module_suffix, const char* why_1_12,
                                   std::string* detail, Set set) {
  FieldTrialsResult r = CheckModuleLibvpx(module_suffix, why_1_12, detail);
  if (r != FieldTrialsResult::kOk) return r;
  std::lock_guard<std::mutex> lock(g_mutex);
  r = InstallEncoderHooks(module_suffix, detail);
  if (r == FieldTrialsResult::kOk) set();
  return r;
}

}  // namespace

FieldTrialsResult SetVp8Profile(const std::string& module_suffix, int profile, std::string* detail) {
  return WithEncoderHooks(module_suffix, "the profile hook knows the encoder settings of 1.12",
                          detail, [profile] { g_profile = profile; });
}

FieldTrialsResult SetVp8Encoder(const std::string& module_suffix, bool own, std::string* detail) {
  return WithEncoderHooks(module_suffix,
                          "its front end must match Tether's libvpx 1.12 to drive Tether's encoder",
                          detail, [own] { g_own = own; });
}

FieldTrialsResult SetMinTransmitBitrate(const std::string& module_suffix, int bps,
                                        std::string* detail) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_on_config_thunk.load() == nullptr) {
    std::vector<void*> addrs;
    std::vector<size_t> sizes;
    const FieldTrialsResult r = Resolve(module_suffix,
                                        {{kSendStreamVtable, STT_OBJECT, 8 * sizeof(void*)},
                                         {kOnEncoderConfig, STT_FUNC, 0},
                                         {kOnEncoderConfigThunk, STT_FUNC, 0}},
                                        &addrs, detail, &sizes);
    if (r != FieldTrialsResult::kOk) return r;
    // The thunk (the EncoderSink entry every caller uses) exactly once; the function itself at
    // most once (the primary vtable's own entry).
    auto** table = static_cast<void**>(addrs[0]);
    void** slot_fn = nullptr;
    void** slot_thunk = nullptr;
    for (size_t i = 0; i < sizes[0] / sizeof(void*); ++i) {
      void*** slot = table[i] == addrs[1] ? &slot_fn : table[i] == addrs[2] ? &slot_thunk : nullptr;
      if (slot == nullptr) continue;
      if (*slot != nullptr) {
        *detail = "the VideoSendStreamImpl vtable holds OnEncoderConfigurationChanged twice";
        return FieldTrialsResult::kSymbolNotFound;
      }
      *slot = &table[i];
    }
    if (slot_thunk == nullptr) {
      *detail = "the VideoSendStreamImpl vtable does not hold OnEncoderConfigurationChanged";
      return FieldTrialsResult::kSymbolNotFound;
    }
    g_on_config = reinterpret_cast<OnEncoderConfigFn>(addrs[1]);
    g_on_config_thunk = reinterpret_cast<OnEncoderConfigFn>(addrs[2]);
    if ((slot_fn != nullptr &&
         !WriteSlot(slot_fn, reinterpret_cast<void*>(&HookedOnConfig), detail)) ||
        !WriteSlot(slot_thunk, reinterpret_cast<void*>(&HookedOnConfigThunk), detail)) {
      g_on_config_thunk = nullptr;
      return FieldTrialsResult::kModuleMismatch;
    }
  }
  g_min_transmit_bps = bps;
  return FieldTrialsResult::kOk;
}

MinTransmitBitrateStats GetMinTransmitBitrateStats() {
  MinTransmitBitrateStats s;
  s.hooked = g_on_config_thunk.load() != nullptr;
  s.bps = g_min_transmit_bps.load();
  s.calls = g_config_calls.load();
  s.libwebrtc_max_bps = g_config_libwebrtc_max_bps.load();
  return s;
}

Vp8ActiveMapStats GetVp8ActiveMapStats() {
  Vp8ActiveMapStats s;
  s.hooked = g_hooks_installed.load();
  s.enabled = g_map_enabled.load();
  s.frames = g_frames.load();
  s.mapped_frames = g_mapped.load();
  s.active_mbs = g_active_mbs.load();
  s.total_mbs = g_total_mbs.load();
  s.errors = g_errors.load();
  s.compare_ns = g_compare_ns.load();
  s.last_q = g_last_q.load();
  s.pending_mbs = g_pending_mbs.load();
  s.encode_ns = g_encode_ns.load();
  s.profile = g_profile.load();
  s.profile_sets = g_profile_sets.load();
  s.last_version = g_last_version.load();
  s.own_encoder = g_own.load();
  s.own_encoders = g_own_encoders.load();
  return s;
}

}  // namespace tether
