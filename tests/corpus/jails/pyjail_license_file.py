# source: pyjail write-ups (license()/_Printer reads arbitrary files)
# expect: EP205
def evaluate_model(model):
    license._Printer__filenames = ["/etc/passwd"]
    license()
    return {}
