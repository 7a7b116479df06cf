# SPDX-License-Identifier: MIT
# print_triple.cmake: prints the clang target triple cmake/apple-toolchain.cmake
# gives a slice (Xcode mode), so tests/apple/check_apple.sh compiles the
# module map for exactly the triples scripts/build-apple.sh builds.
#   cmake -DTP_APPLE_PLATFORM=ios -DTP_APPLE_ARCH=arm64 -DTP_APPLE_MIN=14.0 \
#         -P tests/apple/print_triple.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/apple-toolchain.cmake)
message("${TP_APPLE_TRIPLE}")
