# SPDX-License-Identifier: MIT
# The library an embedder links, on Linux and Android (included from
# CMakeLists.txt after the internal archives tp_wire, tp_core and
# tunproxy_lib exist; Apple builds merge those with scripts/build-apple.sh):
#
#   libtunproxy.a       one archive with everything: the internal archives
#                       partially linked (ld -r) into one object whose
#                       hidden symbols objcopy then makes local, so only
#                       tp_* stay global
#   libtunproxy.so.0    the same objects as a shared library (SONAME
#                       libtunproxy.so.0); -fvisibility=hidden exports
#                       only what include/tunproxy.h declares, and the
#                       version script (cmake/libtunproxy.map) keeps it so
#
# Internal names (tcp_input, udp_input, poller_wait...) then cannot clash
# with an app's or lwIP's: tests/link/ proves it for both. The unit tests
# and the tools keep linking the internal archives (they call internals).

# The internal archive keeps its target name (tests and examples link
# tunproxy_lib) but not the file name, which the merged archive takes.
set_target_properties(tunproxy_lib PROPERTIES OUTPUT_NAME tp_host)

set(TP_LIB_OBJECTS $<TARGET_OBJECTS:tp_wire> $<TARGET_OBJECTS:tp_core>
  $<TARGET_OBJECTS:tunproxy_lib>)

add_library(tunproxy_shared SHARED ${TP_LIB_OBJECTS})
set_target_properties(tunproxy_shared PROPERTIES
  OUTPUT_NAME tunproxy
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/libtunproxy.map)
target_link_options(tunproxy_shared PRIVATE
  -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/libtunproxy.map
  -Wl,--no-undefined)
target_link_libraries(tunproxy_shared PRIVATE Threads::Threads)
target_include_directories(tunproxy_shared INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>)

find_program(TP_OBJCOPY NAMES ${CMAKE_OBJCOPY} objcopy llvm-objcopy)
if(NOT TP_OBJCOPY)
  message(FATAL_ERROR "libtunproxy.a needs objcopy (binutils or llvm)")
endif()
set(TP_MERGED_OBJ ${CMAKE_CURRENT_BINARY_DIR}/tunproxy_merged.o)
set(TP_STATIC_LIB ${CMAKE_CURRENT_BINARY_DIR}/libtunproxy.a)
add_custom_command(OUTPUT ${TP_STATIC_LIB}
  COMMAND ${CMAKE_LINKER} -r -o ${TP_MERGED_OBJ} ${TP_LIB_OBJECTS}
  COMMAND ${TP_OBJCOPY} --localize-hidden ${TP_MERGED_OBJ}
  # ar appends to an existing archive: start a new one each time (a
  # build tree from before this rule had another libtunproxy.a here).
  COMMAND ${CMAKE_COMMAND} -E remove -f ${TP_STATIC_LIB}
  COMMAND ${CMAKE_AR} rc ${TP_STATIC_LIB} ${TP_MERGED_OBJ}
  COMMAND ${CMAKE_RANLIB} ${TP_STATIC_LIB}
  DEPENDS tp_wire tp_core tunproxy_lib
  COMMAND_EXPAND_LISTS
  COMMENT "Merging libtunproxy.a (only tp_* global)")
add_custom_target(tunproxy_static ALL DEPENDS ${TP_STATIC_LIB})

# tunproxy::tunproxy-like targets for this build tree (the installed
# package config gives the same names to an app, cmake/install.cmake).
add_library(tunproxy_static_imported STATIC IMPORTED GLOBAL)
set_target_properties(tunproxy_static_imported PROPERTIES
  IMPORTED_LOCATION ${TP_STATIC_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${CMAKE_SOURCE_DIR}/include
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_dependencies(tunproxy_static_imported tunproxy_static)
