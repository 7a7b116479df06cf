# SPDX-License-Identifier: MIT
# apple-toolchain.cmake - the one description of an Apple target, shared by
# scripts/build-apple.sh (Xcode's clang and SDK, on a Mac) and the CI
# cross-build (scripts/cross-apple.sh: Zig's C compiler on Linux), so the
# two cannot drift apart.
#
#   -DCMAKE_TOOLCHAIN_FILE=cmake/apple-toolchain.cmake
#   -DTP_APPLE_PLATFORM=macos|ios|ios-sim   (default macos)
#   -DTP_APPLE_ARCH=arm64|x86_64            (default arm64)
#   -DTP_APPLE_MIN=11.0                     (default: 11.0 macOS, 14.0 iOS)
#   -DTP_APPLE_ZIG=/path/to/zig             (Linux CI: cross-compile with
#                                            `zig cc`, which bundles macOS
#                                            libc headers and link stubs)
# Without TP_APPLE_ZIG the compiler is Xcode's (CMake finds it) with the
# SDK of the platform (macosx, iphoneos, iphonesimulator).
if(NOT TP_APPLE_PLATFORM)
  set(TP_APPLE_PLATFORM macos)
endif()
if(NOT TP_APPLE_ARCH)
  set(TP_APPLE_ARCH arm64)
endif()
if(NOT TP_APPLE_MIN)
  if(TP_APPLE_PLATFORM STREQUAL "macos")
    set(TP_APPLE_MIN 11.0)
  else()
    set(TP_APPLE_MIN 14.0)
  endif()
endif()
# try_compile projects re-read this file: hand them the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TP_APPLE_PLATFORM
  TP_APPLE_ARCH TP_APPLE_MIN TP_APPLE_ZIG)

if(TP_APPLE_PLATFORM STREQUAL "macos")
  set(CMAKE_SYSTEM_NAME Darwin)
  set(_tp_sdk macosx)
  set(_tp_os macos)
  set(_tp_suffix "")
elseif(TP_APPLE_PLATFORM STREQUAL "ios")
  set(CMAKE_SYSTEM_NAME iOS)
  set(_tp_sdk iphoneos)
  set(_tp_os ios)
  set(_tp_suffix "")
elseif(TP_APPLE_PLATFORM STREQUAL "ios-sim")
  set(CMAKE_SYSTEM_NAME iOS)
  set(_tp_sdk iphonesimulator)
  set(_tp_os ios)
  set(_tp_suffix "-simulator")
else()
  message(FATAL_ERROR "TP_APPLE_PLATFORM: macos, ios or ios-sim, not ${TP_APPLE_PLATFORM}")
endif()
if(NOT TP_APPLE_ARCH MATCHES "^(arm64|x86_64)$")
  message(FATAL_ERROR "TP_APPLE_ARCH: arm64 or x86_64, not ${TP_APPLE_ARCH}")
endif()
set(CMAKE_SYSTEM_PROCESSOR ${TP_APPLE_ARCH})

if(TP_APPLE_ZIG)
  # Zig names arm64 aarch64 and puts the minimum version after a dot.
  if(TP_APPLE_ARCH STREQUAL "arm64")
    set(_tp_zarch aarch64)
  else()
    set(_tp_zarch x86_64)
  endif()
  if(NOT TP_APPLE_PLATFORM STREQUAL "macos")
    message(FATAL_ERROR "the Zig cross-build covers macOS only (Zig bundles no iOS SDK)")
  endif()
  set(TP_APPLE_TRIPLE "${_tp_zarch}-macos.${TP_APPLE_MIN}")
  # CMake wants one executable per tool: small wrappers in the build tree.
  set(_tp_wrap "${CMAKE_BINARY_DIR}/zig-wrappers")
  file(MAKE_DIRECTORY "${_tp_wrap}")
  foreach(_tp_tool cc ar ranlib)
    if(_tp_tool STREQUAL "cc")
      set(_tp_args "cc -target ${TP_APPLE_TRIPLE}")
    else()
      set(_tp_args "${_tp_tool}")
    endif()
    file(WRITE "${_tp_wrap}/zig-${_tp_tool}"
      "#!/bin/sh\nexec \"${TP_APPLE_ZIG}\" ${_tp_args} \"$@\"\n")
    file(CHMOD "${_tp_wrap}/zig-${_tp_tool}" PERMISSIONS OWNER_READ
      OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endforeach()
  # CMake's ABI probe passes -Wl,-v, which Zig's linker refuses: it reports
  # "Detecting C compiler ABI info - failed", which is harmless (the build
  # uses none of its results); the compiler check itself links a Mach-O.
  set(CMAKE_C_COMPILER "${_tp_wrap}/zig-cc")
  set(CMAKE_AR "${_tp_wrap}/zig-ar" CACHE FILEPATH "" FORCE)
  set(CMAKE_RANLIB "${_tp_wrap}/zig-ranlib" CACHE FILEPATH "" FORCE)
else()
  # Xcode: the SDK and architecture through CMake's own Apple support, the
  # OS, minimum version and simulator flavour through the target triple.
  set(TP_APPLE_TRIPLE "${TP_APPLE_ARCH}-apple-${_tp_os}${TP_APPLE_MIN}${_tp_suffix}")
  # The static library is what an app links; an iOS executable would need
  # signing, so the compiler checks build an archive (as before).
  set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
  set(CMAKE_OSX_SYSROOT ${_tp_sdk})
  set(CMAKE_OSX_ARCHITECTURES ${TP_APPLE_ARCH})
  set(CMAKE_C_FLAGS_INIT "-target ${TP_APPLE_TRIPLE}")
endif()
