# Toolchain file: Debian's arm-none-eabi GCC (package gcc-arm-none-eabi) for
# bare-metal Cortex-M. CPU and warning flags come from firmware/build_config.py,
# not from here, so CMake and PlatformIO cannot disagree on them.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(EDGEKWS_TOOLCHAIN_PREFIX "arm-none-eabi-" CACHE STRING "cross toolchain prefix")
find_program(EDGEKWS_ARM_GCC ${EDGEKWS_TOOLCHAIN_PREFIX}gcc REQUIRED)
get_filename_component(_edgekws_bin "${EDGEKWS_ARM_GCC}" DIRECTORY)

set(CMAKE_C_COMPILER "${EDGEKWS_ARM_GCC}")
set(CMAKE_ASM_COMPILER "${EDGEKWS_ARM_GCC}")
set(CMAKE_OBJCOPY "${_edgekws_bin}/${EDGEKWS_TOOLCHAIN_PREFIX}objcopy" CACHE FILEPATH "objcopy")
set(CMAKE_SIZE "${_edgekws_bin}/${EDGEKWS_TOOLCHAIN_PREFIX}size" CACHE FILEPATH "size")

# No OS to link a test executable against while probing the compiler.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
