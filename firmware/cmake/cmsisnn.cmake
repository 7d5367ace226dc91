# firmware/cmake/cmsisnn.cmake - the optional "cmsisnn" kernel backend (Arm CMSIS-NN).
#
# Included by firmware/CMakeLists.txt once the edgekws_fw target exists:
#   include("${CMAKE_CURRENT_LIST_DIR}/cmake/cmsisnn.cmake")
#
# CMSIS-NN is not shipped with edgekws. Point the build at a checkout (the
# directory holding Include/ and Source/) with
#   cmake ... -DEDGEKWS_CMSISNN_DIR=/path/to/CMSIS-NN      or
#   export EDGEKWS_CMSISNN_DIR=/path/to/CMSIS-NN           (read when the variable is empty)
# Then: CMSIS-NN's int8 sources become the static library edgekws_cmsisnn
# (built with the image's CPU flags and CMSIS-NN's own optimisation level,
# without the project's -Werror: it is third-party code), the wrappers in
# src/nn/cmsisnn/ join edgekws_fw with the project's strict flags, and
# EDGEKWS_HAS_CMSISNN=1 is defined. Without it the backend is left out with a
# message, and a model exported with backend "cmsisnn" stops the configure with
# one clear error instead of failing at link time.
#
# Reads: EDGEKWS_C_FLAGS (from build_config.py), EDGEKWS_MODEL_DIR.

set(EDGEKWS_CMSISNN_DIR "" CACHE PATH
    "CMSIS-NN checkout (Include/, Source/) for the cmsisnn kernel backend; empty: $ENV{EDGEKWS_CMSISNN_DIR} or none")
set(EDGEKWS_CMSISNN_OPT "-Ofast" CACHE STRING
    "optimisation flag for the CMSIS-NN sources (CMSIS-NN's own default)")

set(_edgekws_cmsisnn_msg "CMSIS-NN not available: set EDGEKWS_CMSISNN_DIR")

set(_edgekws_cmsisnn_dir "${EDGEKWS_CMSISNN_DIR}")
if(NOT _edgekws_cmsisnn_dir AND DEFINED ENV{EDGEKWS_CMSISNN_DIR})
  set(_edgekws_cmsisnn_dir "$ENV{EDGEKWS_CMSISNN_DIR}")
endif()

# Does the model being built use the backend? (EDGEKWS_BACKENDS in its generated header)
set(_edgekws_model_uses_cmsisnn FALSE)
if(EDGEKWS_MODEL_DIR AND EXISTS "${EDGEKWS_MODEL_DIR}/edgekws_model.h")
  file(STRINGS "${EDGEKWS_MODEL_DIR}/edgekws_model.h" _edgekws_backends_line
       REGEX "^#define[ \t]+EDGEKWS_BACKENDS[ \t]")
  if(_edgekws_backends_line MATCHES "[\",]cmsisnn[\",]")
    set(_edgekws_model_uses_cmsisnn TRUE)
  endif()
endif()

if(NOT _edgekws_cmsisnn_dir)
  if(_edgekws_model_uses_cmsisnn)
    message(FATAL_ERROR "edgekws: the model in ${EDGEKWS_MODEL_DIR} uses the cmsisnn kernel backend, but "
                        "${_edgekws_cmsisnn_msg} (CMake -D or environment) to a CMSIS-NN checkout, "
                        "or export the model with another backend")
  endif()
  message(STATUS "edgekws: cmsisnn kernel backend left out (${_edgekws_cmsisnn_msg})")
  return()
endif()

get_filename_component(_edgekws_cmsisnn_dir "${_edgekws_cmsisnn_dir}" ABSOLUTE)
if(NOT EXISTS "${_edgekws_cmsisnn_dir}/Include/arm_nnfunctions.h" OR NOT IS_DIRECTORY "${_edgekws_cmsisnn_dir}/Source")
  message(FATAL_ERROR "edgekws: EDGEKWS_CMSISNN_DIR=${_edgekws_cmsisnn_dir} is not a CMSIS-NN checkout "
                      "(no Include/arm_nnfunctions.h or Source/)")
endif()

# The int8 part of CMSIS-NN: Source/*/*.c named for s8 or q7, plus the shared tables. The same rule as
# host/edgekws/export/kernels_cmsisnn.py:cmsisnn_sources (what the host tests compile).
file(GLOB _edgekws_cmsisnn_all "${_edgekws_cmsisnn_dir}/Source/*/*.c")
set(_edgekws_cmsisnn_sources "")
foreach(_src IN LISTS _edgekws_cmsisnn_all)
  get_filename_component(_name "${_src}" NAME_WE)
  get_filename_component(_group_dir "${_src}" DIRECTORY)
  get_filename_component(_group "${_group_dir}" NAME)
  if(NOT _group STREQUAL "Bindings" AND (_name MATCHES "_s8" OR _name MATCHES "q7" OR _name STREQUAL "arm_nntables"))
    list(APPEND _edgekws_cmsisnn_sources "${_src}")
  endif()
endforeach()
list(LENGTH _edgekws_cmsisnn_sources _edgekws_cmsisnn_count)
if(_edgekws_cmsisnn_count EQUAL 0)
  message(FATAL_ERROR "edgekws: no int8 sources under ${_edgekws_cmsisnn_dir}/Source")
endif()

# CMSIS-NN's flags: the image's CPU/ABI and code-generation flags, none of the project's warning flags.
set(_edgekws_cmsisnn_flags "")
foreach(_flag IN LISTS EDGEKWS_C_FLAGS)
  if(NOT _flag MATCHES "^-W" AND NOT _flag MATCHES "^-O")
    list(APPEND _edgekws_cmsisnn_flags "${_flag}")
  endif()
endforeach()
list(APPEND _edgekws_cmsisnn_flags ${EDGEKWS_CMSISNN_OPT})

add_library(edgekws_cmsisnn STATIC ${_edgekws_cmsisnn_sources})
target_include_directories(edgekws_cmsisnn PUBLIC "${_edgekws_cmsisnn_dir}/Include")
target_compile_options(edgekws_cmsisnn PRIVATE ${_edgekws_cmsisnn_flags})

file(GLOB _edgekws_cmsisnn_wrappers CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/../src/nn/cmsisnn/*.c")
target_sources(edgekws_fw PRIVATE ${_edgekws_cmsisnn_wrappers})
target_compile_definitions(edgekws_fw PRIVATE EDGEKWS_HAS_CMSISNN=1)
target_link_libraries(edgekws_fw PRIVATE edgekws_cmsisnn)
message(STATUS "edgekws: cmsisnn kernel backend on (${_edgekws_cmsisnn_count} CMSIS-NN sources from "
               "${_edgekws_cmsisnn_dir}, ${EDGEKWS_CMSISNN_OPT})")
