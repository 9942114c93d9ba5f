# The CUDA backend's compiled half: src/cuda/*.cu built by nvcc into the static library tfx_cuda (alias
# tfx::cuda), with the CUDA runtime linked statically and cuBLAS (+ cuBLASLt) shared. Included by the top-level
# CMakeLists.txt when TFX_CUDA is ON.
#
# cuBLAS comes from the CUDA toolkit when it has it (CUDA::cublas), else from a pip wheel (nvidia-cublas, whose
# nvidia/cu13 folder holds include/cublas_v2.h and lib/libcublas.so.13): set TFX_CUBLAS_ROOT (cache or
# environment variable) to that folder, or let CMake ask python3 where the wheel is. TFX_CUBLAS_LIBDIR (cache,
# internal) names the folder of the cuBLAS libraries, for the RPATH of executables that link tfx_cuda.
include_guard(GLOBAL)

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80 90)  # A100, H100 / H200
endif()
enable_language(CUDA)
# C++20 for nvcc. CMake before 3.26 does not know nvcc's C++20 flag (a target with CUDA_STANDARD 20 then fails to
# generate): there tfx_cuda passes -std=c++20 itself.
set(_tfx_cuda_std_flag "")
if(DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  if(NOT DEFINED CMAKE_CUDA_STANDARD)
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  endif()
else()
  set(_tfx_cuda_std_flag -std=c++20)
endif()
find_package(CUDAToolkit REQUIRED)

# ---- cuBLAS ---------------------------------------------------------------------------------------------------
set(TFX_CUBLAS_ROOT "" CACHE PATH
    "Folder with include/cublas_v2.h and lib/libcublas.so.13 (the wheel's nvidia/cu13); empty: toolkit, else python3")
set(_tfx_cublas_target "")
set(_tfx_cublas_libdir "")

set(_tfx_toolkit_has_cublas OFF)
if(TARGET CUDA::cublas AND NOT TFX_CUBLAS_ROOT AND NOT DEFINED ENV{TFX_CUBLAS_ROOT})
  foreach(_dir IN LISTS CUDAToolkit_INCLUDE_DIRS)
    if(EXISTS "${_dir}/cublas_v2.h")
      set(_tfx_toolkit_has_cublas ON)
    endif()
  endforeach()
endif()

if(_tfx_toolkit_has_cublas)
  set(_tfx_cublas_target CUDA::cublas)
  get_target_property(_tfx_cublas_location CUDA::cublas IMPORTED_LOCATION)
  if(_tfx_cublas_location)
    get_filename_component(_tfx_cublas_libdir "${_tfx_cublas_location}" DIRECTORY)
  else()
    set(_tfx_cublas_libdir "${CUDAToolkit_LIBRARY_DIR}")
  endif()
  message(STATUS "tfx: cuBLAS from the CUDA toolkit (${_tfx_cublas_libdir})")
else()
  set(_tfx_root "${TFX_CUBLAS_ROOT}")
  if(NOT _tfx_root AND DEFINED ENV{TFX_CUBLAS_ROOT})
    set(_tfx_root "$ENV{TFX_CUBLAS_ROOT}")
  endif()
  if(NOT _tfx_root)
    find_program(TFX_PYTHON3 NAMES python3 python)
    if(TFX_PYTHON3)
      execute_process(COMMAND "${TFX_PYTHON3}" -c "import nvidia.cu13, os; print(nvidia.cu13.__path__[0])"
                      OUTPUT_VARIABLE _tfx_root OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _tfx_rc)
      if(NOT _tfx_rc EQUAL 0)
        set(_tfx_root "")
      endif()
    endif()
  endif()
  if(NOT _tfx_root)
    message(FATAL_ERROR "tfx: TFX_CUDA needs cuBLAS: the CUDA toolkit has none (no CUDA::cublas / cublas_v2.h) and "
                        "python3 cannot import nvidia.cu13 (pip install nvidia-cublas); or set TFX_CUBLAS_ROOT to a "
                        "folder with include/cublas_v2.h and lib/libcublas.so.13")
  endif()
  find_path(TFX_CUBLAS_INCLUDE_DIR cublas_v2.h HINTS "${_tfx_root}/include" NO_DEFAULT_PATH)
  find_library(TFX_CUBLAS_LIBRARY NAMES cublas libcublas.so.13 HINTS "${_tfx_root}/lib" "${_tfx_root}/lib64"
               NO_DEFAULT_PATH)
  find_library(TFX_CUBLASLT_LIBRARY NAMES cublasLt libcublasLt.so.13 HINTS "${_tfx_root}/lib" "${_tfx_root}/lib64"
               NO_DEFAULT_PATH)
  if(NOT TFX_CUBLAS_INCLUDE_DIR OR NOT TFX_CUBLAS_LIBRARY OR NOT TFX_CUBLASLT_LIBRARY)
    message(FATAL_ERROR "tfx: no cuBLAS under ${_tfx_root} (include/cublas_v2.h: ${TFX_CUBLAS_INCLUDE_DIR}, "
                        "libcublas: ${TFX_CUBLAS_LIBRARY}, libcublasLt: ${TFX_CUBLASLT_LIBRARY})")
  endif()
  add_library(tfx_cublasLt SHARED IMPORTED GLOBAL)
  set_target_properties(tfx_cublasLt PROPERTIES IMPORTED_LOCATION "${TFX_CUBLASLT_LIBRARY}"
                                                IMPORTED_SONAME libcublasLt.so.13)
  add_library(tfx_cublas SHARED IMPORTED GLOBAL)
  set_target_properties(tfx_cublas PROPERTIES IMPORTED_LOCATION "${TFX_CUBLAS_LIBRARY}"
                                              IMPORTED_SONAME libcublas.so.13
                                              INTERFACE_INCLUDE_DIRECTORIES "${TFX_CUBLAS_INCLUDE_DIR}"
                                              INTERFACE_LINK_LIBRARIES tfx_cublasLt)
  set(_tfx_cublas_target tfx_cublas)
  get_filename_component(_tfx_cublas_libdir "${TFX_CUBLAS_LIBRARY}" DIRECTORY)
  message(STATUS "tfx: cuBLAS from ${_tfx_root}")
endif()
set(TFX_CUBLAS_LIBDIR "${_tfx_cublas_libdir}" CACHE INTERNAL "Folder of the cuBLAS libraries tfx_cuda links")

# ---- tfx_cuda -------------------------------------------------------------------------------------------------
add_library(tfx_cuda STATIC ${PROJECT_SOURCE_DIR}/src/cuda/runtime.cu ${PROJECT_SOURCE_DIR}/src/cuda/kernels.cu
                            ${PROJECT_SOURCE_DIR}/src/cuda/attention.cu ${PROJECT_SOURCE_DIR}/src/cuda/linear.cu)
add_library(tfx::cuda ALIAS tfx_cuda)
# Only tfx's include folder, not tfx::tfx: the .cu files include tfx/core, tfx/kernels/types.hpp and
# tfx/backend/cuda/raw.hpp, and tfx::tfx's usage requirements (OpenMP, PCRE2, ...) are not for nvcc.
target_include_directories(tfx_cuda PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
target_compile_features(tfx_cuda PUBLIC cxx_std_20)
target_compile_definitions(tfx_cuda PUBLIC TFX_HAS_CUDA=1)
target_link_libraries(tfx_cuda PUBLIC CUDA::cudart_static ${_tfx_cublas_target})
set_target_properties(tfx_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF POSITION_INDEPENDENT_CODE ON
                                          CUDA_RUNTIME_LIBRARY Static)
if(_tfx_cuda_std_flag)
  target_compile_options(tfx_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${_tfx_cuda_std_flag}>)
else()
  set_target_properties(tfx_cuda PROPERTIES CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON CUDA_EXTENSIONS OFF)
endif()
target_compile_options(tfx_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
if(TFX_WERROR)
  target_compile_options(tfx_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--Werror=all-warnings -Xcompiler=-Werror>)
endif()
