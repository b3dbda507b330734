// Status codes of the native core. Portable: no OS header.
#pragma once

#include <string>
#include <utility>

namespace tether {

// Stable error kinds; the binding maps each to a JS `code` string (ErrorCodeName).
enum class ErrorCode {
  kOk,
  kClosed,               // ERR_CLOSED: the object was closed
  kNoDisplay,            // ERR_NO_DISPLAY: no display to connect to, or it went away
  kNoXShm,               // ERR_NO_XSHM: the X server lacks MIT-SHM (or it cannot attach)
  kNoExtension,          // ERR_NO_EXTENSION: another required extension is missing (XTEST ...)
  kBadArgument,          // ERR_BAD_ARGUMENT: caller error (range, unknown code, buffer size)
  kUnsupportedPlatform,  // ERR_UNSUPPORTED_PLATFORM: no backend for this OS
  kUnsupportedFormat,    // ERR_UNSUPPORTED_FORMAT: the display's pixel format is not 32-bit BGRX
  kBusy,                 // ERR_BUSY: a capture is already in flight on this capturer
  kInternal,             // ERR_INTERNAL: anything else (X protocol error, allocation failure)
};

// Returns "ERR_CLOSED" etc. Never null.
const char* ErrorCodeName(ErrorCode code);

// Result of an operation that can fail; a value type.
class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

}  // namespace tether
