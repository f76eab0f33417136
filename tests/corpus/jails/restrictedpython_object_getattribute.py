# source: RestrictedPython / ws_sheets security tests (object.__getattribute__ bypassing guards)
# expect: EP301
def evaluate_model(model):
    return {"d": str(object.__getattribute__(model, "device"))}
