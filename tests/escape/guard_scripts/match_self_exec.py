"""Issue #11: attribute access written as `match` class patterns reaches exec.
expect: compile"""


def evaluate_model(model):
    match print:
        case object(__self__=builtins_module):
            match builtins_module:
                case object(exec=run):
                    run("import os")
    return {}
