// A module (shared object) already loaded into this process, seen through its own symbol table:
// how the WebRTC tuning reaches into wrtc.node, which exports none of what it tunes. The one
// platform contract of src/webrtc/ (portable code, no OS header): platform/linux/elf_module.cc
// implements it for ELF; on other platforms OpenLoadedModule answers kUnsupported.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tether/webrtc_tuning.h"

namespace tether {

// A symbol to resolve, by its symbol-table (mangled) name: a defined function, or a data object of
// at least `min_size` bytes.
struct SymbolQuery {
  enum class Kind { kFunction, kObject };
  const char* name;
  Kind kind;
  size_t min_size = 0;
};

// Where a resolved symbol is in this process's memory.
struct ResolvedSymbol {
  void* address = nullptr;
  size_t size = 0;  // bytes, from the symbol table
};

class LoadedModule {
 public:
  virtual ~LoadedModule() = default;

  // Resolves every query into `out` (same order and length): kOk only when all were found;
  // kSymbolNotFound names the missing ones in `detail`.
  virtual WebRtcResult Resolve(const std::vector<SymbolQuery>& queries,
                               std::vector<ResolvedSymbol>* out, std::string* detail) = 0;

  // The vtable slot search. Finds the slot of `vtable` (a resolved data object, searched within its
  // size) that holds `function`: kOk with *slot when exactly one does; when `optional`, kOk with
  // *slot = nullptr when none does; otherwise kSymbolNotFound (not the layout the hook was written
  // for). `what` names the pair in `detail`, e.g. "LibvpxFacade::codec_encode".
  virtual WebRtcResult FindSlot(const ResolvedSymbol& vtable, const ResolvedSymbol& function,
                                bool optional, const char* what, void*** slot,
                                std::string* detail) = 0;

  // Stores `hook` in `slot` (one FindSlot found): the page is made writable for the store and its
  // protection restored after. kModuleMismatch (nothing written) when the page cannot be changed.
  // Other threads may call through the slot meanwhile: the store is one atomic pointer write.
  virtual WebRtcResult WriteSlot(void** slot, void* hook, std::string* detail) = 0;
};

// Finds the module of this process whose path ends with `path_suffix` and checks that the file on
// disk is the one loaded. kModuleNotLoaded, kModuleMismatch or kUnsupported (with `detail`)
// otherwise. The module owns what it opened (a mapping of the file) until it is destroyed; the
// addresses it resolves stay valid for as long as the module stays loaded (Node never unloads).
WebRtcResult OpenLoadedModule(const std::string& path_suffix, std::unique_ptr<LoadedModule>* out,
                              std::string* detail);

// One ConfigureWebRtc call's access to the module: opened at the first Resolve() (the file is
// mapped once per call, and only if a setting needs it), and kept, or why it could not be opened,
// until the call ends. LoadedModule's operations as outcomes.
class ModuleOpener {
 public:
  explicit ModuleOpener(std::string path_suffix) : suffix_(std::move(path_suffix)) {}

  // Opens the module if not yet, then LoadedModule::Resolve.
  WebRtcOutcome Resolve(const std::vector<SymbolQuery>& queries, std::vector<ResolvedSymbol>* out);
  // LoadedModule::FindSlot and WriteSlot; only after a Resolve that succeeded.
  WebRtcOutcome FindSlot(const ResolvedSymbol& vtable, const ResolvedSymbol& function,
                         bool optional, const char* what, void*** slot);
  WebRtcOutcome WriteSlot(void** slot, void* hook);

 private:
  std::string suffix_;
  bool tried_ = false;
  std::unique_ptr<LoadedModule> module_;
  WebRtcOutcome failure_;  // why it could not be opened
};

}  // namespace tether
