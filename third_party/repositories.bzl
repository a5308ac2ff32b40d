"""All external dependencies, each from a local path (see tools/setup.sh)."""

load("//third_party/libtorch:libtorch.bzl", "libtorch_repository")

def _system(name):
    native.new_local_repository(
        name = name,
        path = "/usr",
        build_file = "//third_party/%s:%s.BUILD" % (name, name),
    )

def seedvr_dependencies():
    libtorch_repository(
        name = "libtorch",
        build_file_template = "//third_party/libtorch:libtorch.BUILD.tpl",
    )
    for name in ["yaml_cpp", "abseil", "ffmpeg", "nlohmann_json", "googletest", "benchmark", "gloo", "librsvg", "tcmalloc"]:
        _system(name)
