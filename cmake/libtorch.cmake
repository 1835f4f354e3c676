# hy3_libtorch: what every target that includes torch links. LibTorch's own libraries by path, not
# the `torch` target: that target also links the CUDA toolkit's libraries (cudart, nvrtc, nvToolsExt
# from /usr/local/cuda) into every binary, which a user's machine does not have. LibTorch's CUDA
# library finds the wheel's copies of those (the nvidia-* packages) through its own RUNPATH, so our
# binaries need only LibTorch's libraries, found through the RPATH CMake writes for these paths.
# c10d's headers: Gloo's come from Debian's libgloo-dev (headers only; the Gloo code is inside
# libtorch_cpu); nccl.h from the toolkit's include folder, which comes first, or else the wheel's
# nvidia-nccl package, the NCCL libtorch_cuda loads (both 2.28.9 today).
add_library(hy3_libtorch INTERFACE)
target_include_directories(hy3_libtorch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_definitions(hy3_libtorch INTERFACE USE_C10D_GLOO)
set(HY3_TORCH_LIBRARIES torch torch_cpu c10)
if(HY3_WITH_CUDA)
  list(APPEND HY3_TORCH_LIBRARIES torch_cuda c10_cuda)
  find_package(CUDAToolkit REQUIRED)
  get_filename_component(HY3_SITE_PACKAGES "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
  find_path(HY3_NCCL_INCLUDE_DIR nccl.h PATHS "${HY3_SITE_PACKAGES}/nvidia/nccl/include" NO_DEFAULT_PATH)
  if(NOT HY3_NCCL_INCLUDE_DIR)
    message(FATAL_ERROR "hy3: nccl.h not found in ${HY3_SITE_PACKAGES}/nvidia/nccl/include (the nvidia-nccl-cu13 package torch depends on)")
  endif()
  target_include_directories(hy3_libtorch SYSTEM INTERFACE ${CUDAToolkit_INCLUDE_DIRS} ${HY3_NCCL_INCLUDE_DIR})
  target_compile_definitions(hy3_libtorch INTERFACE USE_C10D_NCCL)
endif()
foreach(lib IN LISTS HY3_TORCH_LIBRARIES)
  set(path "${TORCH_INSTALL_PREFIX}/lib/lib${lib}.so")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "hy3: ${path} is missing from the torch package")
  endif()
  target_link_libraries(hy3_libtorch INTERFACE "${path}")
endforeach()

# PyTorch's libtorch.so exports its own copies of 64 std::filesystem functions (the static part of
# the newer compiler runtime it was built with). Listed after libtorch in a binary's NEEDED, the
# system's libstdc++ lost the symbol lookup to them, and our calls jumped into those copies: hy3
# train crashed in std::filesystem::remove_all while saving a checkpoint. Putting libstdc++ first
# among the NEEDED libraries makes every libstdc++ symbol resolve to the system's own.
target_link_options(hy3_libtorch INTERFACE "LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")
