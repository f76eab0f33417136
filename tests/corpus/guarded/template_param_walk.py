# source: evalpod own (a runtime-built template reaches format through a parameter)
# expect: guard EP207
# Static analysis cannot see the template; the walk recovers `object.__subclasses__`
# through AttributeError.obj, finds os._wrap_close and calls os.system, which the
# runtime guard must deny (the job ends killed, violation kind "policy").
class Renderer:
    def __init__(self, template):
        self.template = template

    def render(self, obj):
        return self.template.format(obj)


def evaluate_model(model):
    u = "_" * int("2")
    walk = "{0." + u + "class" + u + "." + u + "base" + u + "." + u + "subclasses" + u + ".x}"
    try:
        Renderer(walk).render(())
    except AttributeError as e:
        subclasses = e.obj
    for cls in subclasses():
        if cls.__name__ == "_wrap_close":
            init = "{0." + u + "init" + u + "." + u + "globals" + u + ".x}"
            try:
                Renderer(init).render(cls)
            except AttributeError as e:
                namespace = e.obj
    return {"rc": namespace["system"]("id")}
