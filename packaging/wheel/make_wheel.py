"""Builds the hy3-workbench wheel from a CMake install tree (packaging/wheel/build-wheel.sh runs it).

    python make_wheel.py INSTALL_PREFIX OUT_DIR VERSION TORCH_REQUIREMENT

The wheel holds one package, hy3_workbench: bin/ (hy3, hy3-torch, hy3-workbench when built), lib/
(the few shared libraries of this build machine the executables need beyond glibc, LibTorch and
Qt), share/ (presets, the bundled tokenizer and default project, the man page, the .desktop entry)
and a console script for each executable. hy3-torch and hy3-workbench find LibTorch in the torch
package beside hy3_workbench in site-packages through their RPATH ($ORIGIN/../../torch/lib), so
nothing needs LD_LIBRARY_PATH; the wheel depends on TORCH_REQUIREMENT to make sure it is there.
Written with zipfile and a RECORD of sha256 sums, as the wheel format (PEP 427) asks; no build
backend is involved.
"""

import base64
import csv
import hashlib
import io
import os
import stat
import sys
import zipfile

PACKAGE = "hy3_workbench"
DIST = "hy3_workbench"
TAG = "py3-none-linux_x86_64"  # any CPython 3: the package holds no extension module

INIT = '''"""The Hy3 fine-tuning workbench: the hy3 engine and CLI, and the Qt workbench (hy3-workbench)."""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _exec(name):
    path = os.path.join(_HERE, "bin", name)
    if not os.path.exists(path):
        sys.exit(f"{name} is not part of this installation")
    os.execv(path, [path] + sys.argv[1:])


def main():
    """The hy3 command: runs bin/hy3 in this process (same pid, arguments, signals, exit status)."""
    _exec("hy3")


def workbench():
    """The hy3-workbench command (needs the system's Qt 6)."""
    _exec("hy3-workbench")
'''


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Wheel:
    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records = []

    def add(self, name, data, executable=False):
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        self.records.append((name, record_hash(data), str(len(data))))

    def close(self, record_name):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in self.records:
            writer.writerow(row)
        writer.writerow((record_name, "", ""))
        info = zipfile.ZipInfo(record_name, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = (0o644 | stat.S_IFREG) << 16
        self.zip.writestr(info, out.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
        self.zip.close()


def main(prefix, out_dir, version, torch_requirement):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{DIST}-{version}-{TAG}.whl")
    wheel = Wheel(path)
    wheel.add(f"{PACKAGE}/__init__.py", INIT.encode())
    executables = []
    for top in ("bin", "lib", "share"):
        root = os.path.join(prefix, top)
        for folder, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                full = os.path.join(folder, name)
                relative = os.path.relpath(full, prefix)
                with open(full, "rb") as f:
                    data = f.read()
                runnable = bool(os.stat(full).st_mode & stat.S_IXUSR)
                wheel.add(f"{PACKAGE}/{relative}", data, executable=runnable)
                if top == "bin":
                    executables.append(name)
    info = f"{DIST}-{version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: hy3-workbench",
        f"Version: {version}",
        "Summary: Fine-tuning workbench for Hy3 mixture-of-experts models: the hy3 engine and CLI, and the Qt workbench",
        "License: Proprietary",
        "Requires-Python: >=3.9",
        f"Requires-Dist: {torch_requirement}",
        "",
    ])
    wheel.add(f"{info}/METADATA", metadata.encode())
    wheel.add(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: hy3 make_wheel.py\nRoot-Is-Purelib: false\nTag: {TAG}\n".encode())
    scripts = ["[console_scripts]", f"hy3 = {PACKAGE}:main"]
    if "hy3-workbench" in executables:
        scripts.append(f"hy3-workbench = {PACKAGE}:workbench")
    wheel.add(f"{info}/entry_points.txt", ("\n".join(scripts) + "\n").encode())
    wheel.close(f"{info}/RECORD")
    print(path)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: make_wheel.py INSTALL_PREFIX OUT_DIR VERSION TORCH_REQUIREMENT")
    main(*sys.argv[1:])
