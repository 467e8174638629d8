# Install rules and the CMake package: find_package(Concord) gives Concord::concord.
include(CMakePackageConfigHelpers)

install(TARGETS concord EXPORT ConcordTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS concord_app RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/concord DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/concord/config.hpp ${PROJECT_BINARY_DIR}/include/concord/git_revision.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/concord)

set(CONCORD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Concord)
install(EXPORT ConcordTargets NAMESPACE Concord:: DESTINATION ${CONCORD_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ConcordConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ConcordConfig.cmake INSTALL_DESTINATION ${CONCORD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ConcordConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ConcordConfig.cmake ${PROJECT_BINARY_DIR}/ConcordConfigVersion.cmake
        DESTINATION ${CONCORD_CMAKE_DIR})
