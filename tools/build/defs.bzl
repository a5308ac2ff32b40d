"""Compiler options and rule wrappers shared by every seedvr target."""

SEEDVR_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
    # LibTorch headers trip these under -Wextra with g++ 12.
    "-Wno-maybe-uninitialized",
    "-Wno-deprecated-declarations",
    # False positives in libstdc++ string appends under g++ 12 -O2.
    "-Wno-restrict",
    "-D_GLIBCXX_USE_CXX11_ABI=1",
]

def seedvr_cc_library(name, copts = [], **kwargs):
    native.cc_library(name = name, copts = SEEDVR_COPTS + copts, **kwargs)

# The malloc of every binary. The VAE's and the DiT's activations are tens of
# MiB to GiB each, above glibc's mmap threshold: glibc maps each one fresh,
# unmaps it when freed and the next layer's has the kernel fault in and clear
# every page again (a tenth of a full-width VAE encode). TCMalloc keeps
# freed pages for reuse and returns idle ones gradually: no faults after the
# first pass, and a lower peak resident size than glibc's. A GPU run's own
# activations are held by LibTorch's CUDA caching allocator either way.
# `--custom_malloc=@bazel_tools//tools/cpp:malloc` builds with glibc's (the
# fuzz configuration does, for AddressSanitizer's).
SEEDVR_MALLOC = "@tcmalloc"

def seedvr_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(name = name, copts = SEEDVR_COPTS + copts, malloc = SEEDVR_MALLOC, **kwargs)

def seedvr_cc_test(name, copts = [], deps = [], **kwargs):
    native.cc_test(
        name = name,
        copts = SEEDVR_COPTS + copts,
        deps = deps + ["@googletest//:gtest", "@googletest//:gtest_main"],
        **kwargs
    )

def seedvr_cc_benchmark(name, copts = [], deps = [], tags = [], **kwargs):
    """A Google Benchmark binary: testonly, tagged `benchmark`, run by hand."""
    native.cc_binary(
        name = name,
        testonly = True,
        copts = SEEDVR_COPTS + copts,
        deps = deps + ["@benchmark//:benchmark", "@benchmark//:benchmark_main"],
        tags = tags + ["benchmark"],
        malloc = SEEDVR_MALLOC,
        **kwargs
    )

def seedvr_tool_binaries(name):
    """A filegroup of every cc_binary declared before it in the package.

    tools/install.sh installs this group and its test installs it, so a tool
    added to tools/BUILD.bazel reaches `seedvr` with no list to update.
    Call it last in the BUILD file.
    """
    native.filegroup(
        name = name,
        srcs = [":" + r["name"] for r in native.existing_rules().values() if r["kind"] == "cc_binary"],
    )
