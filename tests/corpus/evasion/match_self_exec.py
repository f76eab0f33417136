# source: issue #11 (a script that passed every stage and ran a shell command)
# expect: EP301
# Attribute access written as class patterns: `__self__` of a builtin is the builtins
# module, whose `exec` is then captured by a second pattern.
def evaluate_model(model):
    match print:
        case object(__self__=b):
            match b:
                case object(exec=run):
                    run("import os; os.system('id')")
    return {}
