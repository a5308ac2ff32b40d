package(default_visibility = ["//visibility:public"])

config_setting(
    name = "cuda",
    define_values = {"seedvr_cuda": "1"},
)

cc_library(
    name = "libtorch",
    hdrs = glob([
        "include/ATen/**/*.h",
        "include/c10/**/*.h",
        "include/caffe2/**/*.h",
        "include/torch/**/*.h",
        "include/torch/**/*.hpp",
        "include/gloo/**/*.h",
        "include/fmt/**/*.h",
        "include/kineto/**/*.h",
    ]) + select({
        # ATen's CUDA headers include a few .cuh files.
        ":cuda": glob([
            "include/ATen/**/*.cuh",
            "cuda/include/**/*.h",
            "cuda/include/**/*.hpp",
            "nccl/include/**/*.h",
        ]),
        "//conditions:default": [],
    }),
    defines = [
        "USE_C10D_GLOO",
    ] + select({
        ":cuda": ["USE_C10D_NCCL", "USE_CUDA"],
        "//conditions:default": [],
    }),
    includes = [
        "include",
        "include/torch/csrc/api/include",
    ] + select({
        ":cuda": [
            "cuda/include",
            "nccl/include",
        ],
        "//conditions:default": [],
    }),
    linkopts = [
        "-L%{lib_dir}",
        "-L%{cuda_lib_dir}",
        %{rpath_flags},
    ] + select({
        ":cuda": [
            "-L%{cuda_toolkit_lib_dir}",
            "-Wl,--no-as-needed",
            "-ltorch_cuda",
            "-lc10_cuda",
            "-Wl,--as-needed",
            "-l:libcudart.so.13",
        ],
        "//conditions:default": [],
    }) + [
        "-ltorch_cpu",
        "-lc10",
    ],
)
