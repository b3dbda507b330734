// The addon imports Node-API from "node.exe" through a delay-load import library (CMake makes it
// with dlltool from node-api-headers' node_api.def). The support app is node.exe under another
// name, so the first Node-API call would look for a node.exe that is not loaded: this hook answers
// that lookup with the running executable, which exports Node-API (as node-gyp's
// win_delay_load_hook.cc does for MSVC builds).
// delayimp.h needs windows.h first.
// clang-format off
#include "platform/windows/win_headers.h"
#include <delayimp.h>
// clang-format on

#include <cstring>

namespace {

FARPROC WINAPI LoadHostForNode(unsigned notify, PDelayLoadInfo info) {
  if (notify != dliNotePreLoadLibrary || info == nullptr || info->szDll == nullptr) return nullptr;
  if (_stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

// Installed while the DLL's constructors run, before Node calls napi_register_module_v1 and so
// before the first delay-loaded call.
struct InstallHook {
  InstallHook() { __pfnDliNotifyHook2 = LoadHostForNode; }
} install_hook;

}  // namespace
