"""Qualcomm's host libraries for LiteRT's NPU compiler (private; used by
`accelerators.check_npu`)."""

import os
import pathlib
import subprocess
import sys
import tempfile

QNN_LIBRARIES = (
    "libQnnHtp.so",
    "libHtpPrepare.so",
    "libQnnSystem.so",
    "libQnnIr.so",
    "libQnnSaver.so",
    "libQnnLpai.so",
)
QNN_WHEEL = "onnxruntime-qnn==2.7.0"  # QAIRT 2.51


def default_qnn_folder():
    return pathlib.Path.home() / ".cache" / "keras_attn" / "qnn"


def qnn_folder():
    """The folder with Qualcomm's host libraries, or None: `$KERAS_ATTN_QNN`,
    else `~/.cache/keras_attn/qnn` (`fetch_qnn_libraries` fills it)."""
    folder = pathlib.Path(
        os.environ.get("KERAS_ATTN_QNN") or default_qnn_folder()
    )
    if all((folder / name).is_file() for name in QNN_LIBRARIES):
        return folder
    return None


def fetch_qnn_libraries(folder=None):
    """Downloads Qualcomm's host libraries for the NPU compiler (once).

    LiteRT's own `ai-edge-litert-sdk-qualcomm` downloads Qualcomm's SDK
    from Qualcomm when it is installed; the same libraries (QAIRT 2.51)
    ship inside PyPI's `onnxruntime-qnn` wheel, which this fetches with
    pip (not installed: its `.so` files are copied into `folder`, about
    210 MB). LiteRT 2.3's plugin also loads `libQnnLpai.so`, which is not
    in that wheel and which the HTP path never calls: an empty library is
    built in its place (needs a C compiler). Returns the folder.
    """
    import zipfile

    folder = pathlib.Path(folder or default_qnn_folder())
    if all((folder / name).is_file() for name in QNN_LIBRARIES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet",
             "--no-deps", "--only-binary", ":all:",
             "--platform", "manylinux_2_35_x86_64", "--python-version",
             "3.11", "--implementation", "cp", "--abi", "cp311",
             QNN_WHEEL, "-d", scratch],
            check=True,
        )  # fmt: skip
        wheel = next(pathlib.Path(scratch).glob("onnxruntime_qnn-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                name = member.rsplit("/", 1)[-1]
                wanted = name in QNN_LIBRARIES or member.startswith(
                    "onnxruntime_qnn.libs/"
                )  # the libc++ the libraries were linked with
                if wanted and (name.endswith(".so") or ".so." in name):
                    (folder / name).write_bytes(archive.read(member))
    if not (folder / "libQnnLpai.so").is_file():
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-x", "c", "-", "-o",
             str(folder / "libQnnLpai.so"), "-Wl,-soname,libQnnLpai.so"],
            input=b"int keras_attn_empty_lpai;\n",
            check=True,
        )  # fmt: skip
    return folder
