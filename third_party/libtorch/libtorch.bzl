"""Repository rule exposing the LibTorch carried by PyPI's `torch` wheel.

The wheel installed by tools/setup.sh holds headers (`torch/include`) and
libraries (`torch/lib`) for CPU and CUDA. CPU builds link libtorch_cpu and
libc10 only, so they run on machines with no GPU driver; `--config=cuda` adds
libtorch_cuda and libc10_cuda, and the CUDA 13 toolkit's runtime headers
(SEEDVR_CUDA_HOME, default /usr/local/cuda; the wheel's own CUDA headers
when no toolkit is installed), and the wheel's NCCL headers.
"""

def _find_torch(ctx):
    explicit = ctx.os.environ.get("SEEDVR_TORCH_DIR", "")
    if explicit:
        return ctx.path(explicit)
    venv = ctx.os.environ.get("SEEDVR_VENV", "/opt/seedvr/venv")
    result = ctx.execute(["sh", "-c", "ls -d %s/lib/python3*/site-packages/torch 2>/dev/null | head -n 1" % venv])
    found = result.stdout.strip()
    if not found:
        fail("LibTorch not found under %s: run tools/setup.sh, or set SEEDVR_TORCH_DIR to a torch/ folder holding include/ and lib/." % venv)
    return ctx.path(found)

def _libtorch_impl(ctx):
    torch = _find_torch(ctx)
    site = torch.dirname
    ctx.symlink(torch.get_child("include"), "include")
    ctx.symlink(torch.get_child("lib"), "lib")

    # libtorch_cpu needs the CUDA runtime and CUPTI even on a CPU-only host;
    # the wheel's nvidia-* dependencies carry them.
    cuda_lib = site.get_child("nvidia").get_child("cu13").get_child("lib")
    rpaths = [str(torch.get_child("lib")), str(cuda_lib)]
    toolkit = ctx.path(ctx.os.environ.get("SEEDVR_CUDA_HOME", "/usr/local/cuda"))
    if toolkit.get_child("include").get_child("cuda_runtime_api.h").exists:
        ctx.symlink(toolkit.get_child("include"), "cuda/include")
        toolkit_lib = toolkit.get_child("lib64")
    else:
        ctx.symlink(site.get_child("nvidia").get_child("cu13").get_child("include"), "cuda/include")
        toolkit_lib = cuda_lib

    # NCCL's headers for ProcessGroupNCCL.hpp: the wheel's own NCCL, whose
    # version macros must match the libtorch_cuda it was built with.
    ctx.symlink(site.get_child("nvidia").get_child("nccl").get_child("include"), "nccl/include")
    ctx.file("BUILD.bazel", ctx.read(ctx.attr.build_file_template).replace(
        "%{rpath_flags}",
        ", ".join(['"-Wl,-rpath,%s"' % p for p in rpaths]),
    ).replace("%{lib_dir}", str(torch.get_child("lib"))).replace(
        "%{cuda_lib_dir}", str(cuda_lib),
    ).replace(
        "%{cuda_toolkit_lib_dir}", str(toolkit_lib),
    ))

libtorch_repository = repository_rule(
    implementation = _libtorch_impl,
    attrs = {"build_file_template": attr.label(allow_single_file = True)},
    environ = ["SEEDVR_TORCH_DIR", "SEEDVR_VENV", "SEEDVR_CUDA_HOME"],
    local = True,
)
