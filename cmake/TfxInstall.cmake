include(CMakePackageConfigHelpers)
install(TARGETS tfx EXPORT tfxTargets)
install(DIRECTORY include/tfx TYPE INCLUDE)
set(TFX_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/tfx)
install(EXPORT tfxTargets NAMESPACE tfx:: DESTINATION ${TFX_CMAKE_DIR})
configure_package_config_file(cmake/tfxConfig.cmake.in ${PROJECT_BINARY_DIR}/tfxConfig.cmake
                              INSTALL_DESTINATION ${TFX_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tfxConfigVersion.cmake COMPATIBILITY SameMinorVersion
                                 ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/tfxConfig.cmake ${PROJECT_BINARY_DIR}/tfxConfigVersion.cmake
        DESTINATION ${TFX_CMAKE_DIR})
