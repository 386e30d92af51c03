"""What the Python e2e suites all start from: the project's test images and a kernel bundle
made from Debian's cloud kernel (a development kernel, installed by scripts/install-deps.sh)."""
import glob
import os
import shutil
import subprocess
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_test_images(out_dir):
    """Runs tests/images/make_images.py into out_dir; exits the test on failure."""
    r = subprocess.run([sys.executable, os.path.join(TESTS, "images", "make_images.py"), out_dir],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("make_images.py failed: " + r.stderr)
    return out_dir


def make_kernel_bundle(bundle_dir):
    """A nitro-cli-style bundle (bzImage, bzImage.config) from the newest cloud kernel."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels:
        raise SystemExit("no /boot/vmlinuz-*-cloud-amd64: run scripts/install-deps.sh")
    os.makedirs(bundle_dir)
    shutil.copy(kernels[-1], os.path.join(bundle_dir, "bzImage"))
    shutil.copy("/boot/config-" + kernels[-1][len("/boot/vmlinuz-"):],
                os.path.join(bundle_dir, "bzImage.config"))
    return bundle_dir
