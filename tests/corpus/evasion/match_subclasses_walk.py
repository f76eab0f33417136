# source: issue #11; the classic jail walk (class -> base -> subclasses) as patterns
# expect: EP301
def evaluate_model(model):
    match ():
        case object(__class__=object(__base__=object(__subclasses__=subclasses))):
            for cls in subclasses():
                match cls:
                    case object(__init__=object(__globals__=g)) if "system" in g:
                        g["system"]("id")
    return {}
