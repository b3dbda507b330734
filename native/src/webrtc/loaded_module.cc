#include "webrtc/loaded_module.h"

namespace tether {

namespace {

WebRtcOutcome Outcome(WebRtcResult r, std::string detail) {
  return r == WebRtcResult::kOk ? WebRtcOutcome{} : WebRtcOutcome::Fail(r, std::move(detail));
}

}  // namespace

WebRtcOutcome ModuleOpener::Resolve(const std::vector<SymbolQuery>& queries,
                                    std::vector<ResolvedSymbol>* out) {
  if (!tried_) {
    tried_ = true;
    std::string detail;
    const WebRtcResult r = OpenLoadedModule(suffix_, &module_, &detail);
    if (r != WebRtcResult::kOk) failure_ = WebRtcOutcome::Fail(r, detail);
  }
  if (module_ == nullptr) return failure_;
  std::string detail;
  const WebRtcResult r = module_->Resolve(queries, out, &detail);
  return Outcome(r, std::move(detail));
}

WebRtcOutcome ModuleOpener::FindSlot(const ResolvedSymbol& vtable, const ResolvedSymbol& function,
                                     bool optional, const char* what, void*** slot) {
  std::string detail;
  const WebRtcResult r = module_->FindSlot(vtable, function, optional, what, slot, &detail);
  return Outcome(r, std::move(detail));
}

WebRtcOutcome ModuleOpener::WriteSlot(void** slot, void* hook) {
  std::string detail;
  const WebRtcResult r = module_->WriteSlot(slot, hook, &detail);
  return Outcome(r, std::move(detail));
}

}  // namespace tether
