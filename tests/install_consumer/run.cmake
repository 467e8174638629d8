# The installed package works for a consumer, with the MPI Concord was built with:
#  1. installs the build tree BUILD_DIR into WORK_DIR/prefix; the installed ConcordConfig.cmake
#     must record absolute paths of the MPI wrappers;
#  2. builds the examples (EXAMPLES_DIR, the code quoted by README.md and docs/) against it with no
#     MPI_*_COMPILER given and a stand-in for another MPI first on PATH: the package must select
#     Concord's own MPI by itself;
#  3. runs every example (the MPI ones with MPIEXEC at 1 and 2 ranks; gradient tracking must give
#     the same bits on both);
#  4. configures a consumer that names the other MPI's wrappers: find_package(Concord) must refuse
#     it with its message; the same with the build's own wrapper names must work, and with
#     OpenMPI's wrapper where OpenMPI is installed too.
cmake_minimum_required(VERSION 3.22)
file(REMOVE_RECURSE ${WORK_DIR})

# run(OUT COMMAND...): runs the command, fails the test unless it succeeds, output in OUT.
function(run out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  message("${o}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${o}\n${e}")
  endif()
  set(${out} "${o}" PARENT_SCOPE)
endfunction()
function(expect_match regex text what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: no match for '${regex}' in:\n${text}")
  endif()
endfunction()
set(PREFIX ${WORK_DIR}/prefix)
set(CONSUMER_ARGS -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_C_COMPILER=${C_COMPILER})

# --- 1. install; the recorded MPI -------------------------------------------------------------
run(out ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
file(GLOB_RECURSE config ${PREFIX}/*/ConcordConfig.cmake)
file(READ "${config}" text)
foreach(tool MPI_C_COMPILER MPI_CXX_COMPILER MPIEXEC_EXECUTABLE)
  if(NOT text MATCHES "set\\(Concord_${tool} \"([^\"]*)\"\\)")
    message(FATAL_ERROR "${config} does not record Concord_${tool}")
  endif()
  set(RECORDED_${tool} "${CMAKE_MATCH_1}")
  if(NOT IS_ABSOLUTE "${RECORDED_${tool}}" OR NOT EXISTS "${RECORDED_${tool}}")
    message(FATAL_ERROR "${config} records ${tool} '${RECORDED_${tool}}', not an existing absolute path")
  endif()
endforeach()

# --- a stand-in for another MPI installation ----------------------------------------------------
# WORK_DIR/other-mpi/bin/mpicc and mpicxx answer -show like the build's MPICH wrappers, but with
# their libraries in other-mpi/lib (linker scripts that forward to MPICH's, so they link): to CMake
# a different MPI installation. Each forwards a real compilation to the wrapper it imitates, and
# other-mpi/bin/mpiexec to the build's launcher.
set(OTHER ${WORK_DIR}/other-mpi)
foreach(lang C CXX)
  if(lang STREQUAL "C")
    set(name mpicc)
  else()
    set(name mpicxx)
  endif()
  run(show ${RECORDED_MPI_${lang}_COMPILER} -show)
  string(STRIP "${show}" show)
  separate_arguments(words UNIX_COMMAND "${show}")
  set(dirs)
  set(libs)
  set(fake)
  foreach(w IN LISTS words)
    if(w MATCHES "^-L(.+)$")
      list(APPEND dirs "${CMAKE_MATCH_1}")
    elseif(w MATCHES "^-l(.+)$")
      list(APPEND libs "${CMAKE_MATCH_1}")
      list(APPEND fake "${w}")
    else()
      list(APPEND fake "${w}")
    endif()
  endforeach()
  foreach(lib IN LISTS libs)
    set(found)
    foreach(dir IN LISTS dirs)
      if(NOT found AND EXISTS ${dir}/lib${lib}.so)
        file(REAL_PATH ${dir}/lib${lib}.so found)
      endif()
    endforeach()
    if(NOT found)
      message(FATAL_ERROR "cannot make the stand-in MPI: lib${lib}.so is in none of '${dirs}' (${show})")
    endif()
    file(WRITE ${OTHER}/lib/lib${lib}.so "INPUT(${found})\n")
  endforeach()
  list(INSERT fake 1 "-L${OTHER}/lib")
  list(JOIN fake " " fake)
  file(WRITE ${OTHER}/bin/${name}
       "#!/bin/sh\n"
       "case \"$1\" in -show|-compile-info|-link-info|-compile_info|-link_info) echo '${fake}'; exit 0 ;; -showme*) exit 1 ;; esac\n"
       "exec ${RECORDED_MPI_${lang}_COMPILER} \"$@\"\n")
  file(CHMOD ${OTHER}/bin/${name} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)
endforeach()

file(WRITE ${OTHER}/bin/mpiexec "#!/bin/sh\nexec ${RECORDED_MPIEXEC_EXECUTABLE} \"$@\"\n")
file(CHMOD ${OTHER}/bin/mpiexec PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)

# --- 2. the examples, with the other MPI first on PATH and no MPI named ---------------------------
set(EX ${WORK_DIR}/examples)
run(out ${CMAKE_COMMAND} -E env "PATH=${OTHER}/bin:$ENV{PATH}"
    ${CMAKE_COMMAND} -S ${EXAMPLES_DIR} -B ${EX} ${CONSUMER_ARGS})
foreach(tool MPI_C_COMPILER MPI_CXX_COMPILER MPIEXEC_EXECUTABLE)
  file(STRINGS ${EX}/CMakeCache.txt cached REGEX "^${tool}:")
  if(NOT cached MATCHES "^${tool}:[A-Z]+=(.*)$" OR NOT CMAKE_MATCH_1 STREQUAL RECORDED_${tool})
    message(FATAL_ERROR "the examples' ${tool} (${cached}) is not the one Concord was built with "
                        "(${RECORDED_${tool}})")
  endif()
endforeach()
run(out ${CMAKE_COMMAND} --build ${EX} -j 2)

# --- 3. run them ------------------------------------------------------------------------------------
run(out ${EX}/analyze)
expect_match("finite-time yes" "${out}" "analyze")
run(out ${EX}/topology_api)
expect_match("finite-time yes" "${out}" "topology_api")
foreach(np 1 2)
  run(out ${MPIEXEC} -n ${np} ${EX}/mixer)
  expect_match("64 agents on ${np} ranks .*: every model is the exact average" "${out}" "mixer at ${np} ranks")
  run(out ${MPIEXEC} -n ${np} ${EX}/gradient_tracking)
  expect_match("gradient_tracking: ${np} ranks, \\|\\|xbar - x\\*\\|\\| ([^ ]+) .*: converged" "${out}"
               "gradient_tracking at ${np} ranks")
  set(distance_${np} "${CMAKE_MATCH_1}")
endforeach()
if(NOT distance_1 STREQUAL distance_2)
  message(FATAL_ERROR "gradient tracking's distance to x* differs between 1 rank (${distance_1}) and 2 (${distance_2})")
endif()

# --- 4. a consumer that names another MPI is refused; the build's own wrapper names work --------------
execute_process(COMMAND ${CMAKE_COMMAND} -S ${EXAMPLES_DIR} -B ${WORK_DIR}/other ${CONSUMER_ARGS}
                        -DMPI_C_COMPILER=${OTHER}/bin/mpicc -DMPI_CXX_COMPILER=${OTHER}/bin/mpicxx
                RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
if(rc EQUAL 0)
  message(FATAL_ERROR "a consumer with another MPI's wrappers configured without error:\n${o}\n${e}")
endif()
string(REGEX REPLACE "([][+.*()^$?|\\\\])" "\\\\\\1" other_regex "${OTHER}")
string(REGEX REPLACE "[ \n]+" " " flat "${o}${e}")   # CMake wraps messages
expect_match("Concord was built with the MPI library .* but this project found ${other_regex}/lib/" "${flat}"
             "the refusal of another MPI")
message("refused as it should be: another MPI (${OTHER}/bin/mpicxx)")
if(EXISTS /usr/bin/mpicxx.openmpi)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${EXAMPLES_DIR} -B ${WORK_DIR}/openmpi ${CONSUMER_ARGS}
                          -DMPI_C_COMPILER=/usr/bin/mpicc.openmpi -DMPI_CXX_COMPILER=/usr/bin/mpicxx.openmpi
                  RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  string(REGEX REPLACE "[ \n]+" " " flat "${o}${e}")
  if(rc EQUAL 0 OR NOT flat MATCHES "Concord was built with the MPI library")
    message(FATAL_ERROR "a consumer with OpenMPI was not refused (${rc}):\n${o}\n${e}")
  endif()
  message("refused as it should be: OpenMPI")
endif()
run(out ${CMAKE_COMMAND} -S ${EXAMPLES_DIR} -B ${WORK_DIR}/named ${CONSUMER_ARGS}
    -DMPI_C_COMPILER=${MPI_C_COMPILER} -DMPI_CXX_COMPILER=${MPI_CXX_COMPILER})
