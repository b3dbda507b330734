# Cross-compiling for 64-bit Windows with Debian's mingw-w64 (g++-mingw-w64-x86-64-posix: the
# POSIX thread model, so std::thread and std::mutex work). Used by `npm run build:native:win` and
# scripts/build-libyuv-win.mjs; see native/INTEGRATION.md ("The Windows build").
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(TETHER_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${TETHER_MINGW_PREFIX}-gcc-posix)
set(CMAKE_CXX_COMPILER ${TETHER_MINGW_PREFIX}-g++-posix)
set(CMAKE_RC_COMPILER ${TETHER_MINGW_PREFIX}-windres)
set(CMAKE_AR ${TETHER_MINGW_PREFIX}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${TETHER_MINGW_PREFIX}-ranlib CACHE FILEPATH "")
set(TETHER_DLLTOOL ${TETHER_MINGW_PREFIX}-dlltool)

# Libraries and headers come from the mingw sysroot only, programs from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${TETHER_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
