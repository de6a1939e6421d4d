# `cmake --install build --prefix P`: libmaum (static and shared), the public headers, the CMake
# package (find_package(maum CONFIG) -> maum::maum, maum::maum_shared), maum.pc, and the CLI
# (tools/CMakeLists.txt). `cpack -G DEB` packages the same files (see the end of this file).
include(CMakePackageConfigHelpers)

set(MAUM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/maum)
install(TARGETS maum maum_shared EXPORT maumTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir IN LISTS MAUM_PUBLIC_INCLUDE_DIRS)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(EXPORT maumTargets NAMESPACE maum:: DESTINATION ${MAUM_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/maumConfig.cmake.in
  ${PROJECT_BINARY_DIR}/maumConfig.cmake INSTALL_DESTINATION ${MAUM_CMAKE_DIR})
# 0.x: minor versions may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/maumConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/maumConfig.cmake ${PROJECT_BINARY_DIR}/maumConfigVersion.cmake
  DESTINATION ${MAUM_CMAKE_DIR})

# maum.pc, relocatable (prefix from the .pc file's own folder). Libs names libmaum.a itself: the
# shared library is the C API only, and -lmaum would pick it.
set(MAUM_PC_REQUIRES "")
if(MAUM_BUILD_CONVERTER)
  string(APPEND MAUM_PC_REQUIRES " libzip zlib hdf5")
endif()
file(RELATIVE_PATH MAUM_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" MAUM_PC_TO_PREFIX "${MAUM_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/maum.pc.in ${PROJECT_BINARY_DIR}/maum.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/maum.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Debian package: library, headers, CMake and pkg-config files, the maum CLI. Depends come from
# dpkg-shlibdeps on what the installed binaries actually link.
set(CPACK_PACKAGE_NAME maum)
set(CPACK_PACKAGE_VENDOR "maum developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "BERT-family text classifier inference engine (CLI maum, library libmaum)")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "maum developers <maum@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# To build against the installed library (headers, libmaum.a, maum.pc) rather than run maum.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "pkg-config, libzip-dev, zlib1g-dev, libhdf5-dev")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
