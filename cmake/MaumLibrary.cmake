# libmaum from the component libraries' objects (compiled once):
#   maum        static libmaum.a: the C++ API (maum/*.h) and the C API (maum/maum.h);
#               maum::maum for find_package, add_subdirectory and (as libmaum.a) pkg-config.
#   maum_shared shared libmaum.so.<major>: the C API only, the one ABI kept stable; a version
#               script exports the maum_* symbols and nothing else.
set(MAUM_COMPONENTS maum_core maum_tokenizer maum_kernels maum_engine maum_analysis maum_capi)
set(MAUM_PUBLIC_INCLUDE_DIRS core/include tokenizer/include engine/include analysis/include
    capi/include)
set(MAUM_LINK_DEPS Threads::Threads)
if(MAUM_BUILD_CONVERTER)
  list(APPEND MAUM_COMPONENTS maum_convert)
  list(APPEND MAUM_PUBLIC_INCLUDE_DIRS convert/include)
  # In this tree (and for add_subdirectory consumers) maum_hdf5: the static libhdf5.a for
  # executables (the root CMakeLists.txt); installed, libmaum.a names the shared libhdf5, as it
  # did before.
  list(APPEND MAUM_LINK_DEPS PkgConfig::LIBZIP ZLIB::ZLIB $<BUILD_INTERFACE:maum_hdf5>
       $<INSTALL_INTERFACE:PkgConfig::HDF5>)
endif()

set(MAUM_OBJECTS "")
foreach(component IN LISTS MAUM_COMPONENTS)
  list(APPEND MAUM_OBJECTS $<TARGET_OBJECTS:${component}>)
endforeach()
set(MAUM_BUILD_INCLUDE_DIRS "")
foreach(dir IN LISTS MAUM_PUBLIC_INCLUDE_DIRS)
  list(APPEND MAUM_BUILD_INCLUDE_DIRS $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/${dir}>)
endforeach()

add_library(maum STATIC ${MAUM_OBJECTS})
add_library(maum::maum ALIAS maum)
add_library(libmaum ALIAS maum)  # the name the tree's own tests and tools link
target_include_directories(maum PUBLIC ${MAUM_BUILD_INCLUDE_DIRS}
                                       $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(maum PRIVATE ${MAUM_LINK_DEPS})
# A static library's C++ objects need the C++ runtime even in a C program (tests/consumer/c_api).
set_target_properties(maum PROPERTIES LINKER_LANGUAGE CXX)

add_library(maum_shared SHARED ${MAUM_OBJECTS})
add_library(maum::maum_shared ALIAS maum_shared)
target_include_directories(maum_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/capi/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(maum_shared PRIVATE ${MAUM_LINK_DEPS})
target_link_options(maum_shared PRIVATE "LINKER:--version-script=${PROJECT_SOURCE_DIR}/capi/maum.map"
                                        "LINKER:--no-undefined")
set_target_properties(maum_shared PROPERTIES
  OUTPUT_NAME maum VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${PROJECT_SOURCE_DIR}/capi/maum.map)
