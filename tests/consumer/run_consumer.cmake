# One consumer test (cmake -P): configure and build an outside project, or compile with
# pkg-config, then run it on a golden text of ../shared.
#   -DMODE=cmake|pkgconfig -DSOURCE=<dir or .cpp> -DBUILD=<dir> -DAPP=<exe name> -DMODEL=<file>
#   -DGOLDEN=<jsonl> -DCMAKE_ARGS=<;-list> -DPKG_CONFIG_PATH=<dir> -DCXX=<compiler>
#   -DCHECK_EXPORTS=<libmaum.so>: also require that it exports maum_* symbols only
# The program gets: MODEL TEXT IDS PROBS (ids and the PyTorch probabilities at temperature 1 of
# the golden file's first line, comma-separated).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " line "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${line}")
  endif()
endfunction()

if(NOT EXISTS "${GOLDEN}")
  message(FATAL_ERROR "missing shared material: ${GOLDEN} (set MAUM_SHARED_DIR / MAUM_SHARED)")
endif()
if(MODE STREQUAL "pkgconfig")
  file(MAKE_DIRECTORY ${BUILD})
  run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${PKG_CONFIG_PATH}
      sh -c "${CXX} -std=c++17 -O1 '${SOURCE}' -o '${BUILD}/${APP}' $(pkg-config --cflags --libs maum)")
else()
  run(${CMAKE_COMMAND} -S ${SOURCE} -B ${BUILD} ${CMAKE_ARGS})
  run(${CMAKE_COMMAND} --build ${BUILD})
endif()

if(CHECK_EXPORTS)
  execute_process(COMMAND nm -D --defined-only ${CHECK_EXPORTS} OUTPUT_VARIABLE symbols
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm -D ${CHECK_EXPORTS} failed")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${symbols}")
  set(count 0)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES " maum_[A-Za-z0-9_]+$")
      message(FATAL_ERROR "${CHECK_EXPORTS} exports a symbol outside the C API: ${line}")
    endif()
    math(EXPR count "${count} + 1")
  endforeach()
  if(count LESS 10)
    message(FATAL_ERROR "${CHECK_EXPORTS} exports only ${count} maum_* symbols")
  endif()
  message("${CHECK_EXPORTS}: ${count} symbols, all maum_*")
endif()

# The first golden line: text, ids and the PyTorch probabilities (temperature 1).
file(STRINGS ${GOLDEN} golden LIMIT_COUNT 1 ENCODING UTF-8)
string(JSON text GET "${golden}" text)
# The JSON array `key` of the golden line, comma-separated, into `out`.
function(golden_list key out)
  string(JSON n LENGTH "${golden}" ${key})
  math(EXPR last "${n} - 1")
  set(values "")
  foreach(i RANGE ${last})
    string(JSON value GET "${golden}" ${key} ${i})
    list(APPEND values ${value})
  endforeach()
  string(REPLACE ";" "," values "${values}")
  set(${out} "${values}" PARENT_SCOPE)
endfunction()
golden_list(ids ids)
golden_list(probs probs)
run(${BUILD}/${APP} ${MODEL} "${text}" "${ids}" "${probs}")
