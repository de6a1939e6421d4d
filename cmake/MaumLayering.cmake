# The layering rule, enforced by the build: a module sees its own src/ and the public headers
# (maum/*.h) of what it links, nothing else. Sources include internal headers by their path from
# the source root ("engine/src/weights.h"), so each target gets a folder of links to exactly the
# internal folders it may use, instead of the whole source root on its include path.
#   maum_private_includes(<target> <folder from the source root>...)
# core/src (the safetensors reader and file helpers) is core's internal interface to the other
# library modules; the CLI, bench and outside code get public headers only. Tests include the
# source root: they test internals.
function(maum_private_includes target)
  set(root ${PROJECT_BINARY_DIR}/private-include/${target})
  foreach(dir IN LISTS ARGN)
    if(NOT IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${dir})
      message(FATAL_ERROR "maum_private_includes(${target}): no folder ${dir}")
    endif()
    get_filename_component(parent ${root}/${dir} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${dir} ${root}/${dir} SYMBOLIC)
  endforeach()
  target_include_directories(${target} PRIVATE ${root})
endfunction()
