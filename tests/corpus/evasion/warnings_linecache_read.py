# source: issue #11 (reading any file through warnings + linecache, no `open`)
# expect: EP107
import warnings


def evaluate_model(model):
    text = warnings.formatwarning("x", UserWarning, "/etc/passwd", 1)
    warnings.warn_explicit("x", UserWarning, "/etc/hostname", 1)
    return {"line": text}
