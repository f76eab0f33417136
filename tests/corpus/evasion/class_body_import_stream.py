# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): from sys import stderr in a class body keeps the stream as a class attribute
# expect: EP106
class K:
    from sys import stderr as s


def evaluate_model(model):
    b = K.s.detach()
    return {"a": float(b.write(b"x"))}
