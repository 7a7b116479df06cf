# SPDX-License-Identifier: MIT
# cmake --install: what a distribution package or `make install` puts
# where (GNUInstallDirs; prefix /usr/local unless --prefix):
#   bin/tunproxy                          the command
#   include/tunproxy.h                    the public API
#   LIBDIR/libtunproxy.a                  everything in one archive
#   LIBDIR/libtunproxy.so{,.0,.0.1.0}     the shared library (SONAME .0)
#   LIBDIR/pkgconfig/tunproxy.pc          pkg-config --cflags --libs tunproxy
#   LIBDIR/cmake/tunproxy/                find_package(tunproxy) ->
#                                         tunproxy::tunproxy
#   MANDIR/man1/tunproxy.1                the manual
#   DOCDIR/examples/                      embed.c, tunproxy.service
# tests/install/check_install.sh installs into a temporary prefix and
# builds examples/embed.c against it both ways.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS tunproxy RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS tunproxy_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${TP_STATIC_LIB} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/tunproxy.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The .pc finds its prefix from where it lies (${pcfiledir}), so the
# tree works wherever it is installed (cmake --install --prefix, DESTDIR);
# an absolute LIBDIR keeps the configured prefix.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH TP_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" TP_PC_UP "${TP_PC_UP}")
  set(TP_PC_PREFIX "\${pcfiledir}/${TP_PC_UP}")
endif()
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(TP_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(TP_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
configure_file(cmake/tunproxy.pc.in tunproxy.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tunproxy.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(TP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tunproxy)
configure_package_config_file(cmake/tunproxy-config.cmake.in
  tunproxy-config.cmake INSTALL_DESTINATION ${TP_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(tunproxy-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tunproxy-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/tunproxy-config-version.cmake
  DESTINATION ${TP_CMAKE_DIR})

install(FILES docs/tunproxy.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

configure_file(examples/tunproxy.service.in tunproxy.service @ONLY)
install(FILES examples/embed.c ${CMAKE_CURRENT_BINARY_DIR}/tunproxy.service
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
