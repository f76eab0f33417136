"""Issue #11: the __class__ -> __base__ -> __subclasses__ -> __init__ -> __globals__ walk.
expect: os.system"""


def evaluate_model(model):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "catch_warnings":
            cls.__init__.__globals__["sys"].modules["os"].system("id")
    return {}
