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

def seedvr_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(name = name, copts = SEEDVR_COPTS + copts, **kwargs)

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
