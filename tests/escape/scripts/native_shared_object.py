"""Escape attempt: native shared object."""

import ctypes, os, subprocess
def evaluate_model(model):
    # In the working directory: /work in the sandbox, a scratch dir in the unsandboxed control.
    src = os.path.abspath("evil.c")
    open(src, "w").write('#include <stdio.h>\nvoid go(const char*p){FILE*f=fopen(p,"w");if(f){fputs("__TOKEN__",f);fclose(f);}}')
    so = os.path.abspath("evil.so")
    try:
        subprocess.run(["cc", "-shared", "-fPIC", "-o", so, src], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print("no compiler:", exc)
        so = "/tmp/evil.so"
        data = open("/usr/lib/x86_64-linux-gnu/libc.so.6", "rb").read()
        open(so, "wb").write(data)
    lib = ctypes.CDLL(so)
    if hasattr(lib, "go"):
        lib.go(b"__MARKER__")
    return {}
