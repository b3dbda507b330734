// The Windows headers, with the definitions every file of this backend compiles with (CMake sets
// WIN32_LEAN_AND_MEAN, NOMINMAX, UNICODE and _WIN32_WINNT=0x0A00 for the whole Windows build).
#pragma once

#include <windows.h>
