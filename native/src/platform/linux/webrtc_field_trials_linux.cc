// Linux/ELF: find webrtc::field_trial functions in a loaded module's .symtab and call them.
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <vector>

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
                          std::vector<void*>* addrs, std::string* detail) {
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

}  // namespace tether
