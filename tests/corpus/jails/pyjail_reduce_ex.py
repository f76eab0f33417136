# source: pyjail write-ups (pickle protocol methods hand out copyreg helpers)
# expect: EP301
def evaluate_model(model):
    reduced = ().__reduce_ex__(2)
    return {"r": str(reduced[0])}
