"""Issue #11: file reads without `open` in the script: warnings + linecache read any file,
and linecache swallows the error (the denial is reported all the same).
expect: open"""
import warnings


def evaluate_model(model):
    message = warnings.WarningMessage("x", UserWarning, "/etc/passwd", 1)
    text = warnings._formatwarnmsg_impl(message)
    warnings.warn_explicit("x", UserWarning, "/etc/hostname", 1)
    return {"leak": text}
