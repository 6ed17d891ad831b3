"""binder/: the steps repo2docker runs (apt.txt's packages, then postBuild as a non-root user in a fresh
checkout), replayed here; the kernel it installs must start and run a cell."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import textwrap
import unittest
from pathlib import Path

from common import ROOT

USER = "sft4j-binder"


def as_user(cmd, home, cwd, timeout):
    """Runs cmd as the unprivileged user (created when we are root; otherwise ourselves) with its own HOME."""
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           # Maven finds ~ through Java's user.home (the password database): keep its repository fresh too
           "MAVEN_OPTS": f"-Dmaven.repo.local={home}/.m2/repository"}
    prefix = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + cmd, cwd=cwd,
                          timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Binder(unittest.TestCase):

    def setUp(self):
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(USER)
            except KeyError:
                subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
        self.work = Path(tempfile.mkdtemp(prefix="sft4j-binder-"))
        self.home = self.work / "home"
        self.home.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.work, USER)
            shutil.chown(self.home, USER)

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def test_apt_packages_exist_in_debian(self):
        for pkg in (ROOT / "binder/apt.txt").read_text().split():
            r = subprocess.run(["apt-cache", "show", pkg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.assertEqual(0, r.returncode, f"binder/apt.txt: {pkg} is not a Debian package")

    def test_post_build_installs_a_working_kernel_for_a_non_root_user(self):
        repo = self.work / "repo"
        # as repo2docker does: a copy of the committed repository, handed to the notebook user
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(repo)], check=True, timeout=120)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{USER}:", str(repo)], check=True)
        build = as_user(["binder/postBuild"], self.home, repo, 1500)
        self.assertEqual(0, build.returncode, build.stdout[-3000:])

        spec_file = self.home / ".local/share/jupyter/kernels/sft4j/kernel.json"
        self.assertTrue(spec_file.is_file(), "postBuild installs the kernelspec in the user's Jupyter")
        argv = json.loads(spec_file.read_text())["argv"]
        self.assertIn("-Xmx1g", argv)
        self.assertTrue(any(str(repo) in a for a in argv), "the kernel runs the fresh checkout's jars")

        probe = self.work / "probe.py"
        probe.write_text(textwrap.dedent("""
            import jupyter_client
            km, kc = jupyter_client.manager.start_new_kernel(kernel_name="sft4j", startup_timeout=120)
            try:
                reply = kc.execute_interactive("org.sft4j.base.Version.VERSION + \\" \\" + (6 * 7)", timeout=120,
                                               output_hook=lambda m: print(m["content"].get("data", {}).get("text/plain", ""))
                                               if m["msg_type"] == "execute_result" else None)
                print("status", reply["content"]["status"])
            finally:
                km.shutdown_kernel(now=True)
        """))
        os.chmod(self.work, 0o755)
        os.chmod(probe, 0o644)
        run = as_user(["/usr/bin/python3", str(probe)], self.home, repo, 300)
        self.assertEqual(0, run.returncode, run.stdout[-3000:])
        self.assertIn("status ok", run.stdout)
        self.assertIn(" 42", run.stdout)


if __name__ == "__main__":
    unittest.main()
