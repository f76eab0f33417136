# source: pyjail write-ups (decorators as call sites: @exec @input style)
# expect: EP201
@exec
@str.lower
@lambda f: "PRINT(1)"
class X:
    pass


def evaluate_model(model):
    return {}
