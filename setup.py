"""`pip install --no-build-isolation .` (Debian: python3-setuptools, python3-pybind11, pybind11-dev,
python3-numpy and the C++ build dependencies of scripts/setup.sh): builds maum's Python module with
CMake (-DMAUM_BUILD_PYTHON=ON, library only) for the interpreter running pip, and installs the
`maum` package. MAUM_CMAKE_ARGS adds CMake arguments (e.g. -DMAUM_SIMD=OFF)."""
import os
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(HERE, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(maum VERSION ([0-9.]+)", f.read()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.path.join(HERE, "build", "pip-py%d%d" % sys.version_info[:2])
        args = ["-DCMAKE_BUILD_TYPE=Release", "-DMAUM_BUILD_PYTHON=ON", "-DMAUM_BUILD_TESTS=OFF",
                "-DMAUM_BUILD_TOOLS=OFF", "-DMAUM_BUILD_BENCH=OFF", "-DMAUM_INSTALL=OFF",
                "-DPython_EXECUTABLE=" + sys.executable]
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        if shutil.which("ccache"):
            args += ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DCMAKE_C_COMPILER_LAUNCHER=ccache"]
        args += shlex.split(os.environ.get("MAUM_CMAKE_ARGS", ""))
        subprocess.check_call(["cmake", "-S", HERE, "-B", build_dir] + args)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "maum_python", "-j", jobs])
        built = os.path.join(build_dir, "python", "maum")
        module = next(f for f in os.listdir(built) if f.startswith("_maum") and f.endswith(".so"))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(built, module), target)


setup(
    name="maum",
    version=project_version(),
    description="BERT-family text classification on the maum C++ engine",
    packages=["maum"],
    package_dir={"maum": "python/maum"},
    ext_modules=[Extension("maum._maum", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    install_requires=["numpy"],
    python_requires=">=3.8",
    zip_safe=False,
)
