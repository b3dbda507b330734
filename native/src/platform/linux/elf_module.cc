// Linux: LoadedModule for an ELF shared object (src/webrtc/loaded_module.h). Finds a loaded module
// by the end of its path (dl_iterate_phdr), checks that its file on disk is the one loaded (same
// program headers), resolves symbols from the file's .symtab (the published wrtc.node keeps it; the
// dynamic symbol table exports none of what the tuning needs) at load bias + st_value, and patches
// one vtable slot at a time.
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "webrtc/loaded_module.h"

namespace tether {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What the dynamic loader knows about one loaded module.
struct LoadedImage {
  std::string path;
  ElfW(Addr) bias = 0;
  const ElfW(Phdr) * phdr = nullptr;
  ElfW(Half) phnum = 0;
};

bool FindLoadedImage(const std::string& suffix, LoadedImage* out) {
  struct Search {
    const std::string* suffix;
    LoadedImage* out;
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

// The protection of the page holding `addr` (PROT_* bits), from /proc/self/maps; -1 if unknown.
int PageProtection(uintptr_t addr) {
  std::unique_ptr<FILE, int (*)(FILE*)> maps(std::fopen("/proc/self/maps", "re"), &std::fclose);
  if (!maps) return -1;
  char line[512];
  while (std::fgets(line, sizeof(line), maps.get()) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
    if (addr < lo || addr >= hi) continue;
    return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
           (perms[2] == 'x' ? PROT_EXEC : 0);
  }
  return -1;
}

// Write access to the page holding one address while it is in scope; the page's protection is
// restored when it goes out of scope. `error()` is non-empty when the page is not writable.
class WritablePage {
 public:
  explicit WritablePage(const void* addr) {
    const auto a = reinterpret_cast<uintptr_t>(addr);
    prot_ = PageProtection(a);
    if (prot_ < 0) {
      error_ = "cannot read the page protection of the vtable";
      return;
    }
    if ((prot_ & PROT_WRITE) != 0) return;  // already writable: nothing to change or restore
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    start_ = reinterpret_cast<void*>(a & ~(page - 1));
    size_ = static_cast<size_t>(page);
    if (mprotect(start_, size_, prot_ | PROT_WRITE) != 0) {
      start_ = nullptr;
      error_ = "cannot make the vtable writable";
    }
  }
  ~WritablePage() {
    if (start_ != nullptr) mprotect(start_, size_, prot_);  // made writable in the constructor
  }
  WritablePage(const WritablePage&) = delete;
  WritablePage& operator=(const WritablePage&) = delete;

  const std::string& error() const { return error_; }

 private:
  int prot_ = -1;
  void* start_ = nullptr;  // non-null: this object changed the protection
  size_t size_ = 0;
  std::string error_;
};

class ElfModule final : public LoadedModule {
 public:
  ElfModule(LoadedImage image, std::unique_ptr<MappedFile> file)
      : image_(std::move(image)), file_(std::move(file)) {}

  WebRtcResult Resolve(const std::vector<SymbolQuery>& queries, std::vector<ResolvedSymbol>* out,
                       std::string* detail) override {
    out->assign(queries.size(), ResolvedSymbol{});
    const auto* eh = file_->At<ElfW(Ehdr)>(0);  // checked in OpenLoadedModule
    const auto* sh = file_->At<ElfW(Shdr)>(eh->e_shoff, eh->e_shnum);
    size_t found = 0;
    for (size_t i = 0; sh != nullptr && i < eh->e_shnum && found < queries.size(); ++i) {
      if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(ElfW(Sym)) ||
          sh[i].sh_link >= eh->e_shnum)
        continue;
      const ElfW(Shdr)& strtab = sh[sh[i].sh_link];
      const size_t count = sh[i].sh_size / sizeof(ElfW(Sym));
      const auto* syms = file_->At<ElfW(Sym)>(sh[i].sh_offset, count);
      const auto* strs = file_->At<char>(strtab.sh_offset, strtab.sh_size);
      if (syms == nullptr || strs == nullptr) continue;
      for (size_t k = 0; k < count; ++k) {
        const ElfW(Sym)& sym = syms[k];
        if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0 || sym.st_name >= strtab.sh_size)
          continue;
        const char* name = strs + sym.st_name;
        const size_t max = strtab.sh_size - sym.st_name;
        for (size_t q = 0; q < queries.size(); ++q) {
          ResolvedSymbol& r = (*out)[q];
          if (r.address == nullptr && ELF64_ST_TYPE(sym.st_info) == ElfType(queries[q].kind) &&
              sym.st_size >= queries[q].min_size && strnlen(name, max) < max &&
              std::strcmp(name, queries[q].name) == 0) {
            r.address = reinterpret_cast<void*>(image_.bias + sym.st_value);
            r.size = sym.st_size;
            ++found;
          }
        }
      }
    }
    if (found == queries.size()) return WebRtcResult::kOk;
    *detail = image_.path + " has no symbol table entry for";
    for (size_t q = 0; q < queries.size(); ++q)
      if ((*out)[q].address == nullptr) *detail += std::string(" ") + queries[q].name;
    return WebRtcResult::kSymbolNotFound;
  }

  WebRtcResult FindSlot(const ResolvedSymbol& vtable, const ResolvedSymbol& function, bool optional,
                        const char* what, void*** slot, std::string* detail) override {
    auto** table = static_cast<void**>(vtable.address);
    size_t holding = 0;
    *slot = nullptr;
    for (size_t i = 0; i < vtable.size / sizeof(void*); ++i) {
      if (table[i] == function.address && holding++ == 0) *slot = &table[i];
    }
    if (holding == 1 || (holding == 0 && optional)) return WebRtcResult::kOk;
    *slot = nullptr;
    *detail = std::string("the vtable holds ") + what +
              (holding == 0 ? " in no slot" : " in " + std::to_string(holding) + " slots");
    return WebRtcResult::kSymbolNotFound;
  }

  WebRtcResult WriteSlot(void** slot, void* hook, std::string* detail) override {
    WritablePage page(slot);
    if (!page.error().empty()) {
      *detail = page.error();
      return WebRtcResult::kModuleMismatch;
    }
    __atomic_store_n(slot, hook, __ATOMIC_SEQ_CST);
    return WebRtcResult::kOk;
  }

 private:
  static unsigned char ElfType(SymbolQuery::Kind kind) {
    return kind == SymbolQuery::Kind::kFunction ? STT_FUNC : STT_OBJECT;
  }

  LoadedImage image_;
  std::unique_ptr<MappedFile> file_;
};

}  // namespace

WebRtcResult OpenLoadedModule(const std::string& path_suffix, std::unique_ptr<LoadedModule>* out,
                              std::string* detail) {
  out->reset();
  LoadedImage image;
  if (!FindLoadedImage(path_suffix, &image)) {
    *detail = "no loaded module ends with " + path_suffix;
    return WebRtcResult::kModuleNotLoaded;
  }
  auto file = std::make_unique<MappedFile>(image.path);
  const auto* eh = file->At<ElfW(Ehdr)>(0);
  if (eh == nullptr || std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_phnum != image.phnum || eh->e_phentsize != sizeof(ElfW(Phdr)) ||
      eh->e_shentsize != sizeof(ElfW(Shdr))) {
    *detail = image.path + " is not the ELF file that was loaded";
    return WebRtcResult::kModuleMismatch;
  }
  const auto* ph = file->At<ElfW(Phdr)>(eh->e_phoff, eh->e_phnum);
  if (ph == nullptr || std::memcmp(ph, image.phdr, sizeof(ElfW(Phdr)) * image.phnum) != 0) {
    *detail = image.path + " changed on disk since it was loaded";
    return WebRtcResult::kModuleMismatch;
  }
  *out = std::make_unique<ElfModule>(std::move(image), std::move(file));
  return WebRtcResult::kOk;
}

}  // namespace tether
