"""Saves documents with a password (to open them) through LibreOffice, for the format corpus.

    python lo_password.py PROFILE_DIR SRC:DST:FILTER...

LibreOffice's command line cannot set a password, so this starts `soffice` headless,
connects to it over UNO (Debian's python3-uno) and stores each SRC as DST with the export
filter FILTER (`writer8` for ODT, `MS Word 97` for DOC, `MS PowerPoint 97` for PPT) and the
media descriptor's `Password`: an encrypted ODF package (its manifest says so), a Word
document with RC4 CryptoAPI encryption (fEncrypted in the FIB), a PowerPoint file with an
encrypted stream. Each is then checked: LibreOffice must refuse to load it without the
password, and load it with it.
"""

import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

PASSWORD = "himitsu-2025"


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def main():
    profile, jobs = sys.argv[1], sys.argv[2:]
    pipe = f"mamori-corpus-{os.getpid()}"
    office = subprocess.Popen(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--invisible",
            "--norestore",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        context = None
        for _ in range(300):
            try:
                context = resolver.resolve(
                    f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
                )
                break
            except Exception:
                time.sleep(0.1)
        if context is None:
            raise SystemExit("lo_password.py: soffice did not answer over UNO")
        desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )
        for job in jobs:
            src, dst, filter_name = job.split(":", 2)
            url = uno.systemPathToFileUrl(os.path.abspath(src))
            doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
            if doc is None:
                raise SystemExit(f"lo_password.py: cannot load {src}")
            target = uno.systemPathToFileUrl(os.path.abspath(dst))
            doc.storeToURL(
                target, (prop("FilterName", filter_name), prop("Password", PASSWORD))
            )
            doc.close(True)
            # The oracle: no password, no document; the password opens it.
            locked = desktop.loadComponentFromURL(
                target, "_blank", 0, (prop("Hidden", True), prop("Password", "wrong"))
            )
            if locked is not None:
                raise SystemExit(f"lo_password.py: {dst} opens with a wrong password")
            opened = desktop.loadComponentFromURL(
                target, "_blank", 0, (prop("Hidden", True), prop("Password", PASSWORD))
            )
            if opened is None:
                raise SystemExit(f"lo_password.py: {dst} does not open with its password")
            opened.close(True)
        desktop.terminate()
    finally:
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()


if __name__ == "__main__":
    main()
