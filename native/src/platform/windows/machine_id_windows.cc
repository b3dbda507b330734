#include "platform/windows/win_headers.h"
#include "platform/windows/win_util.h"
#include "tether/machine_id.h"

namespace tether {

Status ReadMachineId(std::string* id) {
  id->clear();
  wchar_t value[128] = {};
  DWORD bytes = sizeof value;
  // The 64-bit view: a 32-bit process would otherwise read the WOW64 copy, which lacks the value.
  const LSTATUS r =
      RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid",
                   RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, nullptr, value, &bytes);
  if (r != ERROR_SUCCESS) {
    return Status(ErrorCode::kInternal,
                  Win32ErrorText("reading HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid",
                                 static_cast<unsigned long>(r)));
  }
  *id = Utf8FromWide(value);
  return Status::Ok();
}

}  // namespace tether
