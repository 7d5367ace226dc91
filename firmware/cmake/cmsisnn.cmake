# firmware/cmake/cmsisnn.cmake - the optional "cmsisnn" kernel backend (Arm CMSIS-NN).
#
# Included by firmware/CMakeLists.txt once the edgekws_fw target exists:
#   include("${CMAKE_CURRENT_LIST_DIR}/cmake/cmsisnn.cmake")
#
# CMSIS-NN is not shipped with edgekws. tools/setup.sh runs tools/fetch_cmsisnn.py, which puts
# CMSIS-NN 12.5.1 (Apache-2.0, from a pinned PyPI wheel) into ~/.cache/edgekws/cmsis-nn-12.5.1
# ($EDGEKWS_CMSISNN_CACHE moves it); a model exported with backend "cmsisnn" is built against that
# cache by default. Another checkout (the directory holding Include/ and Source/) overrides it with
#   cmake ... -DEDGEKWS_CMSISNN_DIR=/path/to/CMSIS-NN      or
#   export EDGEKWS_CMSISNN_DIR=/path/to/CMSIS-NN           (read when the variable is empty)
# and is then built into every image; EDGEKWS_CMSISNN_DIR=off turns the backend off.
# Then: CMSIS-NN's int8 sources become the static library edgekws_cmsisnn
# (built with the image's CPU flags and CMSIS-NN's own optimisation level,
# without the project's -Werror: it is third-party code), the wrappers in
# src/nn/cmsisnn/ join edgekws_fw with the project's strict flags, and
# EDGEKWS_HAS_CMSISNN=1 is defined together with what the library's header says it offers
# (EDGEKWS_CMSISNN_VERSION, _HAS_FC_PER_CHANNEL, _HAS_GROUPED_CONV, _VECTOR_SUM_ARGS; the same reading
# as host/edgekws/export/kernels_cmsisnn.py:compile_definitions). Without it the backend is left out
# with a message, and a model exported with backend "cmsisnn" stops the configure with one clear
# error instead of failing at link time.
#
# Reads: EDGEKWS_C_FLAGS (from build_config.py), EDGEKWS_MODEL_DIR.

set(EDGEKWS_CMSISNN_DIR "" CACHE PATH
    "CMSIS-NN checkout (Include/, Source/) for the cmsisnn kernel backend; empty: $ENV{EDGEKWS_CMSISNN_DIR}, else the fetched cache for models that use it; off: none")
set(EDGEKWS_CMSISNN_OPT "-Ofast" CACHE STRING
    "optimisation flag for the CMSIS-NN sources (CMSIS-NN's own default)")

set(_edgekws_cmsisnn_msg "CMSIS-NN not available: set EDGEKWS_CMSISNN_DIR or run tools/fetch_cmsisnn.py")

# Does the model being built use the backend? (EDGEKWS_BACKENDS in its generated header)
set(_edgekws_model_uses_cmsisnn FALSE)
if(EDGEKWS_MODEL_DIR AND EXISTS "${EDGEKWS_MODEL_DIR}/edgekws_model.h")
  file(STRINGS "${EDGEKWS_MODEL_DIR}/edgekws_model.h" _edgekws_backends_line
       REGEX "^#define[ \t]+EDGEKWS_BACKENDS[ \t]")
  if(_edgekws_backends_line MATCHES "[\",]cmsisnn[\",]")
    set(_edgekws_model_uses_cmsisnn TRUE)
  endif()
endif()

# Where CMSIS-NN comes from: the CMake variable, else the environment (either may say "off"), else the
# fetched cache, the last only for a model that uses the backend (no CMSIS-NN build for other models).
set(_edgekws_cmsisnn_dir "${EDGEKWS_CMSISNN_DIR}")
if("${_edgekws_cmsisnn_dir}" STREQUAL "" AND DEFINED ENV{EDGEKWS_CMSISNN_DIR})
  set(_edgekws_cmsisnn_dir "$ENV{EDGEKWS_CMSISNN_DIR}")
endif()
string(TOLOWER "${_edgekws_cmsisnn_dir}" _edgekws_cmsisnn_lower)
if(_edgekws_cmsisnn_lower STREQUAL "off" OR _edgekws_cmsisnn_lower STREQUAL "none")
  set(_edgekws_cmsisnn_msg "${_edgekws_cmsisnn_msg} (turned off by EDGEKWS_CMSISNN_DIR=${_edgekws_cmsisnn_dir})")
  set(_edgekws_cmsisnn_dir "")
elseif("${_edgekws_cmsisnn_dir}" STREQUAL "" AND _edgekws_model_uses_cmsisnn)
  if(DEFINED ENV{EDGEKWS_CMSISNN_CACHE} AND NOT "$ENV{EDGEKWS_CMSISNN_CACHE}" STREQUAL "")
    set(_edgekws_cmsisnn_cache "$ENV{EDGEKWS_CMSISNN_CACHE}")
  else()
    set(_edgekws_cmsisnn_cache "$ENV{HOME}/.cache/edgekws/cmsis-nn-12.5.1")
  endif()
  if(EXISTS "${_edgekws_cmsisnn_cache}/Include/arm_nnfunctions.h")
    set(_edgekws_cmsisnn_dir "${_edgekws_cmsisnn_cache}")
  endif()
endif()

if("${_edgekws_cmsisnn_dir}" STREQUAL "")
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

# What this CMSIS-NN offers, read from its public header: the revision, whether
# arm_fully_connected_per_channel_s8 is declared, how many parameters arm_vector_sum_s8 takes. Grouped
# convolution arrived in arm_convolve_s8 with V.12.6.0.
file(READ "${_edgekws_cmsisnn_dir}/Include/arm_nnfunctions.h" _edgekws_cmsisnn_header)
if(NOT _edgekws_cmsisnn_header MATCHES "\\$Revision:[ \t]*V\\.?([0-9]+)\\.([0-9]+)\\.([0-9]+)")
  message(FATAL_ERROR "edgekws: ${_edgekws_cmsisnn_dir}/Include/arm_nnfunctions.h names no $Revision: V.x.y.z; "
                      "cannot tell the CMSIS-NN version")
endif()
set(_edgekws_cmsisnn_version "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.${CMAKE_MATCH_3}")
math(EXPR _edgekws_cmsisnn_version_num "${CMAKE_MATCH_1} * 10000 + ${CMAKE_MATCH_2} * 100 + ${CMAKE_MATCH_3}")
set(_edgekws_cmsisnn_fc_pc 0)
if(_edgekws_cmsisnn_header MATCHES "arm_fully_connected_per_channel_s8[ \t\r\n]*\\(")
  set(_edgekws_cmsisnn_fc_pc 1)
endif()
set(_edgekws_cmsisnn_groups 0)
if(_edgekws_cmsisnn_version VERSION_GREATER_EQUAL "12.6.0")
  set(_edgekws_cmsisnn_groups 1)
endif()
string(REGEX MATCH "arm_vector_sum_s8[ \t\r\n]*\\(([^;{]*)\\)[ \t\r\n]*;" _edgekws_vs "${_edgekws_cmsisnn_header}")
if(NOT _edgekws_vs)
  message(FATAL_ERROR "edgekws: ${_edgekws_cmsisnn_dir}/Include/arm_nnfunctions.h declares no arm_vector_sum_s8")
endif()
string(REGEX MATCHALL "," _edgekws_vs_commas "${CMAKE_MATCH_1}")
list(LENGTH _edgekws_vs_commas _edgekws_vs_args)
math(EXPR _edgekws_vs_args "${_edgekws_vs_args} + 1")
set(_edgekws_cmsisnn_defines
    EDGEKWS_HAS_CMSISNN=1
    EDGEKWS_CMSISNN_VERSION=${_edgekws_cmsisnn_version_num}
    EDGEKWS_CMSISNN_HAS_FC_PER_CHANNEL=${_edgekws_cmsisnn_fc_pc}
    EDGEKWS_CMSISNN_HAS_GROUPED_CONV=${_edgekws_cmsisnn_groups}
    EDGEKWS_CMSISNN_VECTOR_SUM_ARGS=${_edgekws_vs_args})

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
target_compile_definitions(edgekws_fw PRIVATE ${_edgekws_cmsisnn_defines})
target_link_libraries(edgekws_fw PRIVATE edgekws_cmsisnn)
string(REPLACE ";" " " _edgekws_cmsisnn_defines_text "${_edgekws_cmsisnn_defines}")
message(STATUS "edgekws: cmsisnn kernel backend on (CMSIS-NN ${_edgekws_cmsisnn_version}, "
               "${_edgekws_cmsisnn_count} sources from ${_edgekws_cmsisnn_dir}, ${EDGEKWS_CMSISNN_OPT}; "
               "defines: ${_edgekws_cmsisnn_defines_text})")
