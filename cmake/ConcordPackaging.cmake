# Install rules and the CMake package: find_package(Concord) gives Concord::concord.
include(CMakePackageConfigHelpers)

install(TARGETS concord EXPORT ConcordTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS concord_app RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The Python package (reading outputs, concord plot): bin/../share/concord/python, where concord plot looks.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/concord DESTINATION ${CMAKE_INSTALL_DATADIR}/concord/python
        PATTERN "__pycache__" EXCLUDE)
# The Slurm batch scripts (concord study --submit finds study.sbatch there: share/concord/slurm).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/inputs/slurm/ DESTINATION ${CMAKE_INSTALL_DATADIR}/concord/slurm
        USE_SOURCE_PERMISSIONS)
# Headers: only the public ones. Every src/concord/**/*.hpp is public except
#  - the headers of detail/ directories, private to the library (core/detail/hdf5.hpp pulls in
#    hdf5.h, which a consumer need not have), and
#  - io/hdf5_support.hpp, private to the io layer;
# but a detail/ header that an installed header includes would be installed too (none does
# today: problems/mlp.hpp and linear_model.hpp keep their detail types behind a pointer), found by
# following the #include "concord/..." lines. The list is made at install time, so it always matches the sources. Installing fails when
# an installed header would include hdf5.h, core/detail/hdf5.hpp or io/hdf5_support.hpp: the
# package must not need HDF5's headers.
install(CODE "set(CONCORD_HEADER_SOURCE \"${PROJECT_SOURCE_DIR}/src\")
set(CONCORD_HEADER_DESTINATION \"${CMAKE_INSTALL_INCLUDEDIR}\")")
install(CODE [[
  cmake_policy(PUSH)
  cmake_policy(SET CMP0057 NEW)  # if(IN_LIST): cmake_install.cmake runs under old policies
  if(IS_ABSOLUTE "${CONCORD_HEADER_DESTINATION}")
    set(destination "${CONCORD_HEADER_DESTINATION}")
  else()
    set(destination "${CMAKE_INSTALL_PREFIX}/${CONCORD_HEADER_DESTINATION}")
  endif()
  set(private_headers concord/io/hdf5_support.hpp)
  file(GLOB_RECURSE all RELATIVE "${CONCORD_HEADER_SOURCE}" "${CONCORD_HEADER_SOURCE}/concord/*.hpp")
  set(pending)
  foreach(header IN LISTS all)
    if(NOT header MATCHES "/detail/" AND NOT header IN_LIST private_headers)
      list(APPEND pending "${header}")
    endif()
  endforeach()
  set(installed)
  while(pending)
    list(POP_FRONT pending header)
    if(header IN_LIST installed)
      continue()
    endif()
    list(APPEND installed "${header}")
    file(STRINGS "${CONCORD_HEADER_SOURCE}/${header}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS includes)
      if(line MATCHES "[<\"]hdf5\\.h[>\"]")
        message(FATAL_ERROR "installed header ${header} includes hdf5.h; keep HDF5 in src/concord/core/detail/hdf5.hpp")
      endif()
      if(line MATCHES "\"(concord/[^\"]+)\"" AND EXISTS "${CONCORD_HEADER_SOURCE}/${CMAKE_MATCH_1}")
        set(included "${CMAKE_MATCH_1}")
        if(included IN_LIST private_headers OR included STREQUAL "concord/core/detail/hdf5.hpp")
          message(FATAL_ERROR "installed header ${header} includes the private header ${included}")
        endif()
        list(APPEND pending "${included}")
      endif()
    endforeach()
  endwhile()
  list(SORT installed)
  foreach(header IN LISTS installed)
    get_filename_component(directory "${header}" DIRECTORY)
    file(INSTALL DESTINATION "${destination}/${directory}" TYPE FILE FILES "${CONCORD_HEADER_SOURCE}/${header}")
  endforeach()
  cmake_policy(POP)
]])
install(FILES ${PROJECT_BINARY_DIR}/include/concord/config.hpp ${PROJECT_BINARY_DIR}/include/concord/git_revision.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/concord)

set(CONCORD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Concord)
install(EXPORT ConcordTargets NAMESPACE Concord:: DESTINATION ${CONCORD_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ConcordConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ConcordConfig.cmake INSTALL_DESTINATION ${CONCORD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ConcordConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ConcordConfig.cmake ${PROJECT_BINARY_DIR}/ConcordConfigVersion.cmake
        DESTINATION ${CONCORD_CMAKE_DIR})
